"""Fixtures for the orders tests: a stocked product and a snapshot of everything orders touch."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from catalog.models import Product
from conftest import as_json
from notifications.models import OrderEvent
from orders.models import Order, OrderItem, OrderStatusChange
from orders.services import order_status_change
from orders.tests.factories import new_product, place_order


@pytest.fixture
def product(db: Any) -> Product:
    return new_product(name="Blue Kettle", price=Decimal("12.50"), stock=10)


@pytest.fixture
def second_product(db: Any) -> Product:
    return new_product(name="Tea Cup", price=Decimal("3.20"), stock=50)


def order_body(order: Order) -> dict[str, Any]:
    """The API's rendering of an order, built from the database row."""
    order.refresh_from_db()
    return {
        "id": order.pk,
        "customer_id": order.customer_id,
        "customer_username": order.customer.username,
        "status": order.status,
        "items": [
            {
                "product_id": item.product_id,
                "product_name": item.product_name,
                "quantity": item.quantity,
                "unit_price": str(item.unit_price),
            }
            for item in order.items.order_by("id")
        ],
        "total": str(order.total),
        "created_at": as_json(order.created_at),
        "updated_at": as_json(order.updated_at),
    }


def world() -> dict[str, Any]:
    """Everything a refused request must leave untouched."""
    return {
        "stock": dict(Product.objects.order_by("pk").values_list("pk", "stock")),
        "orders": list(Order.objects.order_by("pk").values_list("pk", "status", "updated_at")),
        "items": OrderItem.objects.count(),
        "history": OrderStatusChange.objects.count(),
        "events": OrderEvent.objects.count(),
    }


@pytest.fixture
def orders(customer, other_customer, product, second_product):
    """Two orders of the customer (one processing) and one of another customer, oldest first."""
    first = place_order(customer=customer, lines=[(product, 1)])
    theirs = place_order(customer=other_customer, lines=[(second_product, 2)])
    latest = place_order(customer=customer, lines=[(product, 1), (second_product, 1)])
    order_status_change(order_id=latest.pk, status="processing", by=None)
    return {"first": first, "theirs": theirs, "latest": latest}
