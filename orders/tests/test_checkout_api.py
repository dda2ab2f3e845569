"""POST /api/orders/: checkout at catalog prices, refusals, idempotent retries, query count."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection

from catalog.models import Product
from conftest import validation_error, without_pydantic_wording
from orders.models import Order
from orders.tests.api import (
    NOT_AUTHENTICATED,
    ORDERS,
    count_queries,
    line,
)
from orders.tests.conftest import order_body, world
from orders.tests.factories import new_product

pytestmark = pytest.mark.django_db


# --- POST /api/orders/ ---------------------------------------------------------------------


def test_create_returns_the_order_at_catalog_prices(
    customer_api, customer, product, second_product
):
    response = customer_api.post(
        ORDERS,
        # Prices sent by the client are not part of the schema's contract and never used.
        {"items": [line(product, 2), {**line(second_product, 3), "unit_price": "0.01"}]},
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    order = Order.objects.get()
    assert body == {
        "id": order.pk,
        "customer_id": customer.pk,
        "customer_username": customer.username,
        "status": "pending",
        "items": [
            {
                "product_id": product.pk,
                "product_name": "Blue Kettle",
                "quantity": 2,
                "unit_price": "12.50",
            },
            {
                "product_id": second_product.pk,
                "product_name": "Tea Cup",
                "quantity": 3,
                "unit_price": "3.20",
            },
        ],
        "total": "34.60",
        "created_at": body["created_at"],
        "updated_at": body["updated_at"],
    }
    assert body == order_body(order)
    # Rendered to the millisecond.
    assert abs(datetime.fromisoformat(body["created_at"]) - order.created_at) < timedelta(
        milliseconds=1
    )
    assert "Idempotent-Replayed" not in response.headers
    assert dict(Product.objects.values_list("pk", "stock")) == {
        product.pk: 8,
        second_product.pk: 47,
    }
    assert list(order.status_changes.values_list("from_status", "to_status", "changed_by")) == [
        ("", "pending", customer.pk)
    ]


def test_create_snapshots_the_price_and_name(customer_api, product):
    response = customer_api.post(ORDERS, {"items": [line(product, 1)]})
    Product.objects.filter(pk=product.pk).update(name="Red Kettle", price=Decimal("99.00"))

    again = customer_api.get(f"{ORDERS}{response.json()['id']}/")

    assert again.status_code == 200
    assert again.json()["items"] == [
        {
            "product_id": product.pk,
            "product_name": "Blue Kettle",
            "quantity": 1,
            "unit_price": "12.50",
        }
    ]
    assert again.json()["total"] == "12.50"


def test_repeated_product_lines_merge(customer_api, product, second_product):
    response = customer_api.post(
        ORDERS, {"items": [line(product, 1), line(second_product, 1), line(product, 2)]}
    )

    assert response.status_code == 201
    assert [(i["product_id"], i["quantity"]) for i in response.json()["items"]] == [
        (product.pk, 3),
        (second_product.pk, 1),
    ]
    assert response.json()["total"] == "40.70"
    product.refresh_from_db()
    assert product.stock == 7


@pytest.mark.parametrize(
    ("items", "status", "expected"),
    [
        pytest.param(
            lambda p, q: [],
            422,
            lambda p, q: validation_error(
                ["body", "payload", "items"],
                "too_short",
            ),
            id="empty",
        ),
        pytest.param(
            lambda p, q: [line(p, 0)],
            422,
            lambda p, q: validation_error(
                ["body", "payload", "items", 0, "quantity"],
                "greater_than_equal",
            ),
            id="quantity-0",
        ),
        pytest.param(
            lambda p, q: [line(q, 1), line(p, -1)],
            422,
            lambda p, q: validation_error(
                ["body", "payload", "items", 1, "quantity"],
                "greater_than_equal",
            ),
            id="quantity-negative",
        ),
        pytest.param(
            lambda p, q: [line(p, 1001)],
            422,
            lambda p, q: validation_error(
                ["body", "payload", "items", 0, "quantity"],
                "less_than_equal",
            ),
            id="quantity-1001",
        ),
        pytest.param(
            lambda p, q: [line(p, 600), line(q, 1), line(p, 401)],
            422,
            lambda p, q: {
                "detail": [
                    {
                        "loc": ["body", "items"],
                        "msg": f"Quantity for product {p.pk} must be between 1 and 1000 "
                        "(got 1001 after merging repeated lines).",
                        "type": "invalid_quantity",
                    }
                ],
                "code": "invalid_quantity",
            },
            id="quantity-over-1000-after-merge",
        ),
        pytest.param(
            lambda p, q: [line(q, 1), {"product_id": 999_999, "quantity": 1}],
            400,
            lambda p, q: {
                "detail": "Product 999999 does not exist or is not for sale.",
                "code": "product_unavailable",
            },
            id="unknown-product",
        ),
        pytest.param(
            lambda p, q: [{"product_id": 0, "quantity": 1}],
            422,
            lambda p, q: validation_error(
                ["body", "payload", "items", 0, "product_id"],
                "greater_than_equal",
            ),
            id="product-id-0",
        ),
        pytest.param(
            lambda p, q: [line(p, 10), line(q, 51)],
            409,
            lambda p, q: {
                "detail": f"Not enough stock for 'Tea Cup' (product {q.pk}): "
                "51 requested, 50 available.",
                "code": "insufficient_stock",
            },
            id="more-than-stock",
        ),
        pytest.param(
            lambda p, q: [line(p, 6), line(q, 1), line(p, 5)],
            409,
            lambda p, q: {
                "detail": f"Not enough stock for 'Blue Kettle' (product {p.pk}): "
                "11 requested, 10 available.",
                "code": "insufficient_stock",
            },
            id="more-than-stock-after-merge",
        ),
    ],
)
def test_create_refusals_change_nothing(
    customer_api, product, second_product, items, status, expected
):
    before = world()

    response = customer_api.post(ORDERS, {"items": items(product, second_product)})

    assert response.status_code == status
    assert without_pydantic_wording(response.json()) == expected(product, second_product)
    assert world() == before


def test_create_refuses_an_inactive_product(customer_api, product, second_product):
    hidden = new_product(name="Old Kettle", is_active=False, stock=5)
    before = world()

    response = customer_api.post(ORDERS, {"items": [line(product, 1), line(hidden, 1)]})

    assert response.status_code == 400
    assert response.json() == {
        "detail": f"Product {hidden.pk} does not exist or is not for sale.",
        "code": "product_unavailable",
    }
    assert world() == before


@pytest.mark.parametrize(
    ("body", "status", "expected"),
    [
        ({}, 422, validation_error(["body", "payload", "items"], "missing")),
        (
            [1],
            422,
            validation_error(
                ["body", "payload"], "value_error", "The request body must be a JSON object."
            ),
        ),
        ("not json", 400, {"detail": "Cannot parse request body", "code": "bad_request"}),
        (
            {"items": "x"},
            422,
            validation_error(["body", "payload", "items"], "list_type"),
        ),
        (
            {"items": [{"product_id": 1}]},
            422,
            validation_error(["body", "payload", "items", 0, "quantity"], "missing"),
        ),
    ],
    ids=["no-items", "list", "not-json", "items-not-list", "no-quantity"],
)
def test_create_malformed_body(customer_api, product, body, status, expected):
    before = world()

    response = customer_api.post(ORDERS, body)

    assert response.status_code == status
    assert without_pydantic_wording(response.json()) == expected
    assert world() == before


def test_create_anonymous_is_401(anon, product):
    before = world()

    response = anon.post(ORDERS, {"items": [line(product, 1)]})

    assert response.status_code == 401
    assert response.json() == NOT_AUTHENTICATED
    assert world() == before


# --- Idempotency-Key -----------------------------------------------------------------------


def test_retry_with_the_same_key_returns_the_first_order(customer_api, product):
    headers = {"Idempotency-Key": "checkout-1"}
    first = customer_api.post(ORDERS, {"items": [line(product, 2)]}, headers=headers)
    after_first = world()

    retry = customer_api.post(ORDERS, {"items": [line(product, 2)]}, headers=headers)

    assert first.status_code == 201
    assert "Idempotent-Replayed" not in first.headers
    assert retry.status_code == 200
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.json() == first.json()
    assert world() == after_first
    assert Order.objects.count() == 1
    product.refresh_from_db()
    assert product.stock == 8


def test_retry_matches_the_merged_items_not_their_spelling(customer_api, product, second_product):
    headers = {"Idempotency-Key": "k"}
    first = customer_api.post(
        ORDERS,
        {"items": [line(product, 1), line(second_product, 2), line(product, 1)]},
        headers=headers,
    )

    retry = customer_api.post(
        ORDERS, {"items": [line(second_product, 2), line(product, 2)]}, headers=headers
    )

    assert (first.status_code, retry.status_code) == (201, 200)
    assert retry.json() == first.json()
    assert Order.objects.count() == 1


@pytest.mark.parametrize("retry_quantity", [3, None], ids=["other-quantity", "other-product"])
def test_same_key_with_other_items_is_409(customer_api, product, second_product, retry_quantity):
    headers = {"Idempotency-Key": "checkout-1"}
    customer_api.post(ORDERS, {"items": [line(product, 2)]}, headers=headers)
    before = world()
    retry_line = line(product, retry_quantity) if retry_quantity else line(second_product, 2)

    response = customer_api.post(ORDERS, {"items": [retry_line]}, headers=headers)

    assert response.status_code == 409
    assert response.json() == {
        "detail": "This Idempotency-Key was already used with different items.",
        "code": "idempotency_key_reused",
    }
    assert world() == before


def test_idempotency_keys_are_per_customer(
    customer_api, other_api, customer, other_customer, product
):
    headers = {"Idempotency-Key": "same-key"}

    mine = customer_api.post(ORDERS, {"items": [line(product, 1)]}, headers=headers)
    theirs = other_api.post(ORDERS, {"items": [line(product, 1)]}, headers=headers)

    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert mine.json()["id"] != theirs.json()["id"]
    assert mine.json()["customer_id"] == customer.pk
    assert theirs.json()["customer_id"] == other_customer.pk
    product.refresh_from_db()
    assert product.stock == 8


def test_requests_without_a_key_are_not_deduplicated(customer_api, product):
    first = customer_api.post(ORDERS, {"items": [line(product, 1)]})
    second = customer_api.post(ORDERS, {"items": [line(product, 1)]})

    assert (first.status_code, second.status_code) == (201, 201)
    assert Order.objects.count() == 2


def test_an_empty_key_is_422(customer_api, product):
    before = world()

    response = customer_api.post(
        ORDERS, {"items": [line(product, 1)]}, headers={"Idempotency-Key": ""}
    )

    assert response.status_code == 422
    assert without_pydantic_wording(response.json()) == validation_error(
        ["header", "Idempotency-Key"], "string_too_short"
    )
    assert world() == before


@pytest.mark.parametrize("key", ["has space", "tab\tkey", "nul\x00key", "caf\u00e9"])
def test_a_key_outside_visible_ascii_is_422(customer_api, product, key):
    before = world()

    response = customer_api.post(
        ORDERS, {"items": [line(product, 1)]}, headers={"Idempotency-Key": key}
    )

    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"
    assert [p["loc"] for p in response.json()["detail"]] == [["header", "Idempotency-Key"]]
    assert world() == before


# --- query count ---------------------------------------------------------------------------


def test_create_runs_the_same_queries_for_1_or_10_lines(customer_api):
    products = [new_product(stock=5) for _ in range(10)]
    customer_api.get(ORDERS)  # first request warms per-process lookups (content types etc.)

    def place(n: int) -> Any:
        return lambda: customer_api.post(ORDERS, {"items": [line(p, 1) for p in products[:n]]})

    one = count_queries(place(1))
    ten = count_queries(place(10))

    assert Order.objects.count() == 2
    # token check, product snapshot, SAVEPOINT (the test's transaction), order, lines (one bulk
    # insert), history row, order.created outbox row, lock, stock UPDATE writing its movements
    # (one statement on PostgreSQL), RELEASE: the response is built with no re-read; one line
    # takes its stock and writes its movement with a single conditional statement instead of
    # lock + UPDATE
    expected = (9, 10) if connection.vendor == "postgresql" else (10, 11)
    assert (one, ten) == expected
