"""Ninja schemas for orders."""

from __future__ import annotations

from datetime import datetime

from ninja import Schema
from pydantic import Field

from config.schemas import DbId, DecimalString, InputSchema

from .models import OrderStatus

MAX_QUANTITY = 1000
MAX_LINES = 100


class OrderLineIn(InputSchema):
    product_id: DbId
    quantity: int = Field(ge=1, le=MAX_QUANTITY)


class OrderIn(InputSchema):
    items: list[OrderLineIn] = Field(min_length=1, max_length=MAX_LINES)


class OrderItemOut(Schema):
    product_id: int
    product_name: str
    quantity: int
    unit_price: DecimalString


class OrderOut(Schema):
    id: int
    customer_id: int
    status: OrderStatus
    items: list[OrderItemOut]
    total: DecimalString
    created_at: datetime
    updated_at: datetime


class OrderStatusIn(InputSchema):
    status: OrderStatus


class OrderListFilters(Schema):
    status: OrderStatus | None = None
