"""GET /api/orders/ and /api/orders/{id}/: scoped lists and details, filters, pages, query count."""

from __future__ import annotations

from typing import Any

import pytest

from conftest import page_of, validation_error, without_pydantic_wording
from orders.tests.api import (
    NOT_AUTHENTICATED,
    ORDERS,
    count_queries,
    not_found,
)
from orders.tests.conftest import order_body
from orders.tests.factories import new_product, place_order

pytestmark = pytest.mark.django_db


# --- GET /api/orders/ and /api/orders/{id}/ ------------------------------------------------


def test_customer_lists_only_its_own_orders(customer_api, orders):
    response = customer_api.get(ORDERS)

    assert response.status_code == 200
    assert response.json() == page_of([order_body(orders["latest"]), order_body(orders["first"])])


def test_staff_lists_every_order(staff_api, orders):
    response = staff_api.get(ORDERS)

    assert response.status_code == 200
    assert response.json() == page_of(
        [order_body(orders[k]) for k in ("latest", "theirs", "first")]
    )


@pytest.mark.parametrize(
    ("who", "status", "expected"),
    [
        ("customer_api", "pending", ["first"]),
        ("customer_api", "processing", ["latest"]),
        ("customer_api", "cancelled", []),
        ("staff_api", "pending", ["theirs", "first"]),
    ],
)
def test_list_filters_by_status(request, orders, who, status, expected):
    response = request.getfixturevalue(who).get(ORDERS, status=status)

    assert response.status_code == 200
    assert response.json() == page_of([order_body(orders[k]) for k in expected])


def test_list_unknown_status_is_422(customer_api, orders):
    response = customer_api.get(ORDERS, status="lost")

    assert response.status_code == 422
    assert without_pydantic_wording(response.json()) == validation_error(
        ["query", "status"],
        "enum",
    )


def test_list_paginates(customer_api, customer, product):
    placed = [place_order(customer=customer, lines=[(product, 1)]) for _ in range(5)]
    newest_first = [o.pk for o in reversed(placed)]

    page1 = customer_api.get(ORDERS, page_size=2)
    page3 = customer_api.get(ORDERS, page_size=2, page=3)
    default = customer_api.get(ORDERS)

    assert page1.status_code == page3.status_code == default.status_code == 200
    assert [o["id"] for o in page1.json()["items"]] == newest_first[:2]
    assert [o["id"] for o in page3.json()["items"]] == newest_first[4:]
    assert page1.json()["count"] == page3.json()["count"] == 5
    assert [o["id"] for o in default.json()["items"]] == newest_first


@pytest.mark.parametrize("query", [{"page_size": 101}, {"page_size": 0}, {"page": 0}])
def test_list_refuses_out_of_range_pages(customer_api, query):
    response = customer_api.get(ORDERS, **query)

    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"


def test_list_anonymous_is_401(anon, orders):
    response = anon.get(ORDERS)

    assert response.status_code == 401
    assert response.json() == NOT_AUTHENTICATED


@pytest.mark.parametrize(
    ("who", "status"),
    [("anon", 401), ("other_api", 404), ("customer_api", 200), ("staff_api", 200)],
)
def test_detail_permissions(request, orders, who, status):
    order = orders["first"]

    response = request.getfixturevalue(who).get(f"{ORDERS}{order.pk}/")

    assert response.status_code == status
    expected = {401: NOT_AUTHENTICATED, 404: not_found(order.pk), 200: order_body(order)}[status]
    assert without_pydantic_wording(response.json()) == expected


def test_detail_of_a_missing_order_is_404(staff_api):
    response = staff_api.get(f"{ORDERS}424242/")

    assert response.status_code == 404
    assert response.json() == not_found(424242)


# --- query count ---------------------------------------------------------------------------


def test_list_runs_the_same_queries_for_2_or_10_orders(staff_api, customer):
    products = [new_product(stock=100) for _ in range(3)]
    for _ in range(2):
        place_order(customer=customer, lines=[(p, 1) for p in products])
    staff_api.get(ORDERS)

    two = count_queries(lambda: staff_api.get(ORDERS))
    for _ in range(8):
        place_order(customer=customer, lines=[(p, 1) for p in products])
    response_holder: list[Any] = []
    ten = count_queries(lambda: response_holder.append(staff_api.get(ORDERS)))

    assert response_holder[0].json()["count"] == 10
    assert len(response_holder[0].json()["items"]) == 10
    # token check (user + revoked session in one query), count, page of orders, their lines
    assert two == ten == 4
