"""Ninja schemas for the order-event feed."""

from __future__ import annotations

from datetime import datetime

from ninja import Schema
from pydantic import Field


class OrderEventOut(Schema):
    id: int
    order_id: int
    old_status: str
    new_status: str
    changed_at: datetime


class EventFilters(Schema):
    after: int | None = Field(
        default=None, ge=0, le=2**63 - 1, description="Only events with a larger id."
    )
