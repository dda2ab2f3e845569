"""Ninja schemas for orders."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from ninja import Schema
from pydantic import ConfigDict, Field

from common.schemas import DbId, DecimalString, InputSchema

from .models import MAX_LINES, MAX_QUANTITY, Order, OrderItem, OrderStatus


class OrderLineIn(InputSchema):
    product_id: DbId
    quantity: int = Field(ge=1, le=MAX_QUANTITY)


class OrderIn(InputSchema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"items": [{"product_id": 1, "quantity": 2}, {"product_id": 3, "quantity": 1}]}
            ]
        }
    )

    items: list[OrderLineIn] = Field(min_length=1, max_length=MAX_LINES)


class OrderItemOut(Schema):
    product_id: int
    product_name: str
    quantity: int
    unit_price: DecimalString


class OrderOut(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 1001,
                    "customer_id": 7,
                    "customer_username": "alice",
                    "status": "pending",
                    "items": [
                        {
                            "product_id": 42,
                            "product_name": "Brass desk lamp",
                            "quantity": 2,
                            "unit_price": "24.90",
                        }
                    ],
                    "total": "49.80",
                    "created_at": "2026-03-14T09:26:53Z",
                    "updated_at": "2026-03-14T09:26:53Z",
                }
            ]
        }
    )

    id: int
    customer_id: int
    customer_username: str
    status: OrderStatus
    items: list[OrderItemOut]
    total: DecimalString
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_customer_username(order: Order) -> str:
        # Reads join the customer (orders.selectors); checkout has it in hand.
        return order.customer.username

    @staticmethod
    def resolve_items(order: Order) -> Iterable[OrderItem]:
        # Checkout hands over the lines it just wrote; reads prefetch them (orders.selectors).
        created: list[OrderItem] | None = getattr(order, "created_items", None)
        return created if created is not None else order.items.all()


class OrderStatusIn(InputSchema):
    model_config = ConfigDict(json_schema_extra={"examples": [{"status": "processing"}]})

    status: OrderStatus


class OrderListFilters(Schema):
    status: OrderStatus | None = None
