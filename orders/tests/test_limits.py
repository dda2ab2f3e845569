"""Checkout's bounds: price, quantity and line count add up to at most what Order.total holds;
a dearer order is a 422 naming the limit and writes nothing."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from catalog.models import MAX_PRICE
from conftest import ApiClient
from orders.models import MAX_ORDER_TOTAL, Order
from orders.tests.conftest import world
from orders.tests.factories import new_product

pytestmark = pytest.mark.django_db


def test_the_limits_follow_the_columns() -> None:
    assert (MAX_PRICE, MAX_ORDER_TOTAL) == (Decimal("99999999.99"), Decimal("9999999999.99"))


def test_an_order_over_the_total_limit_is_422_and_writes_nothing(customer_api: ApiClient) -> None:
    dear = new_product(price=MAX_PRICE, stock=5000)
    other = new_product(price=MAX_PRICE, stock=5000)
    before = world()
    response = customer_api.post(
        "/api/orders/",
        {
            "items": [
                {"product_id": dear.pk, "quantity": 1000},
                {"product_id": other.pk, "quantity": 1},
            ]
        },
    )
    assert response.status_code == 422
    assert response.json() == {
        "detail": [
            {
                "loc": ["body", "items"],
                "msg": "The order total 100099999989.99 exceeds the limit of 9999999999.99 "
                "per order; split it into smaller orders.",
                "type": "order_total_too_large",
            }
        ],
        "code": "order_total_too_large",
    }
    assert world() == before


def test_an_order_at_the_total_limit_is_placed(customer_api: ApiClient, customer: Any) -> None:
    product = new_product(price=Decimal("9999999.99"), stock=1000)
    response = customer_api.post(
        "/api/orders/", {"items": [{"product_id": product.pk, "quantity": 1000}]}
    )
    assert response.status_code == 201
    assert response.json()["total"] == "9999999990.00"
    assert Order.objects.get().total == Decimal("9999999990.00")
