"""What the orders API tests share: paths, the error bodies they expect, small builders."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.models import Product
from orders.models import Order, OrderStatus
from orders.services import order_status_change
from orders.tests.factories import place_order

ORDERS = "/api/orders/"
NOT_AUTHENTICATED = {
    "detail": "Authentication credentials were not provided.",
    "code": "not_authenticated",
}
STAFF_ONLY = {"detail": "Only staff may do this.", "code": "staff_only"}


def line(product: Product, quantity: int) -> dict[str, int]:
    return {"product_id": product.pk, "quantity": quantity}


def not_found(order_id: int) -> dict[str, str]:
    return {"detail": f"Order {order_id} not found.", "code": "order_not_found"}


def refused_transition(order_id: int, old: str, new: str) -> dict[str, str]:
    return {
        "detail": f"Order {order_id} cannot change from '{old}' to '{new}'.",
        "code": "invalid_transition",
    }


def order_in(status: str, *, customer: Any, product: Product, by: Any) -> Order:
    """An order of 2 x product brought to `status` through the service, as staff would."""
    order = place_order(customer=customer, lines=[(product, 2)])
    if status != OrderStatus.PENDING:
        order_status_change(order_id=order.pk, status=status, by=by)
    order.refresh_from_db()
    return order


def count_queries(fn: Any) -> int:
    with CaptureQueriesContext(connection) as ctx:
        fn()
    return len(ctx.captured_queries)
