"""Ninja schemas for orders."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from ninja import Schema
from pydantic import Field

from .models import OrderStatus

MAX_QUANTITY = 1000
MAX_LINES = 100


class OrderLineIn(Schema):
    product_id: int = Field(ge=1)
    quantity: int = Field(ge=1, le=MAX_QUANTITY)


class OrderIn(Schema):
    items: list[OrderLineIn] = Field(min_length=1, max_length=MAX_LINES)


class OrderItemOut(Schema):
    product_id: int
    product_name: str
    quantity: int
    unit_price: Decimal


class OrderOut(Schema):
    id: int
    customer_id: int
    status: OrderStatus
    items: list[OrderItemOut]
    total: Decimal
    created_at: datetime
    updated_at: datetime


class OrderStatusIn(Schema):
    status: OrderStatus


class OrderListFilters(Schema):
    status: OrderStatus | None = None
