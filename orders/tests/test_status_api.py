"""PATCH /api/orders/{id}/ and POST /api/orders/{id}/cancel/: transitions, stock back, rights."""

from __future__ import annotations

import itertools

import pytest

from catalog.models import Product
from conftest import validation_error, without_pydantic_wording
from notifications.models import OrderEvent
from orders.models import TRANSITIONS, OrderStatus, OrderStatusChange
from orders.tests.api import (
    NOT_AUTHENTICATED,
    ORDERS,
    STAFF_ONLY,
    not_found,
    order_in,
    refused_transition,
)
from orders.tests.conftest import order_body, world
from orders.tests.factories import place_order

pytestmark = pytest.mark.django_db


# --- PATCH /api/orders/{id}/ ---------------------------------------------------------------


ALL_PAIRS = list(itertools.product(OrderStatus.values, repeat=2))
ALLOWED = [(old, new) for old, new in ALL_PAIRS if new in TRANSITIONS[old]]
REFUSED = [(old, new) for old, new in ALL_PAIRS if new not in TRANSITIONS[old]]


def test_the_transition_table_is_the_documented_one():
    assert sorted(ALLOWED) == sorted(
        [
            ("pending", "processing"),
            ("pending", "shipped"),
            ("pending", "delivered"),
            ("pending", "cancelled"),
            ("processing", "shipped"),
            ("processing", "delivered"),
            ("processing", "cancelled"),
            ("shipped", "delivered"),
        ]
    )


@pytest.mark.parametrize(("old", "new"), ALLOWED)
def test_staff_allowed_transition(staff_api, staff, customer, product, old, new):
    order = order_in(old, customer=customer, product=product, by=staff)
    history = OrderStatusChange.objects.count()
    events = OrderEvent.objects.count()

    response = staff_api.patch(f"{ORDERS}{order.pk}/", {"status": new})

    assert response.status_code == 200, response.json()
    assert response.json() == order_body(order)
    assert response.json()["status"] == new
    product.refresh_from_db()
    assert product.stock == (10 if new == OrderStatus.CANCELLED else 8)
    assert OrderStatusChange.objects.count() == history + 1
    change = OrderStatusChange.objects.latest("id")
    assert (change.order_id, change.from_status, change.to_status, change.changed_by_id) == (
        order.pk,
        old,
        new,
        staff.pk,
    )
    assert OrderEvent.objects.count() == events + 1
    event = OrderEvent.objects.latest("id")
    assert (
        event.order_id,
        event.recipient_id,
        event.old_status,
        event.new_status,
        event.changed_at,
    ) == (order.pk, customer.pk, old, new, change.changed_at)


@pytest.mark.parametrize(("old", "new"), REFUSED)
def test_staff_refused_transition_is_409(staff_api, staff, customer, product, old, new):
    order = order_in(old, customer=customer, product=product, by=staff)
    before = world()

    response = staff_api.patch(f"{ORDERS}{order.pk}/", {"status": new})

    assert response.status_code == 409
    assert response.json() == refused_transition(order.pk, old, new)
    assert world() == before


def test_cancelled_order_cannot_give_its_stock_back_twice(staff_api, staff, customer, product):
    order = order_in("cancelled", customer=customer, product=product, by=staff)

    response = staff_api.patch(f"{ORDERS}{order.pk}/", {"status": "cancelled"})

    assert response.status_code == 409
    product.refresh_from_db()
    assert product.stock == 10


def test_cancel_returns_the_stock_of_every_line(staff_api, customer, product, second_product):
    order = place_order(customer=customer, lines=[(second_product, 5), (product, 3)])

    response = staff_api.patch(f"{ORDERS}{order.pk}/", {"status": "cancelled"})

    assert response.status_code == 200
    assert dict(Product.objects.values_list("pk", "stock")) == {
        product.pk: 10,
        second_product.pk: 50,
    }


@pytest.mark.parametrize("body", [{"status": "lost"}, {"status": None}, {}, {"status": "PENDING"}])
def test_patch_unknown_status_is_422(staff_api, orders, body):
    order = orders["first"]
    before = world()

    response = staff_api.patch(f"{ORDERS}{order.pk}/", body)

    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"
    assert response.json()["detail"][0]["loc"] == ["body", "payload", "status"]
    assert world() == before


def test_patch_unknown_status_message(staff_api, orders):
    response = staff_api.patch(f"{ORDERS}{orders['first'].pk}/", {"status": "lost"})

    assert without_pydantic_wording(response.json()) == validation_error(
        ["body", "payload", "status"],
        "enum",
    )


@pytest.mark.parametrize(
    ("who", "status"),
    [("anon", 401), ("other_api", 403), ("customer_api", 403), ("staff_api", 200)],
)
def test_patch_permissions(request, orders, who, status):
    order = orders["first"]
    before = world()

    response = request.getfixturevalue(who).patch(f"{ORDERS}{order.pk}/", {"status": "shipped"})

    assert response.status_code == status
    if status == 200:
        assert response.json() == order_body(order)
        assert order.status == "shipped"
    else:
        assert response.json() == {401: NOT_AUTHENTICATED, 403: STAFF_ONLY}[status]
        assert world() == before


def test_patch_missing_order_is_404(staff_api):
    response = staff_api.patch(f"{ORDERS}424242/", {"status": "shipped"})

    assert response.status_code == 404
    assert response.json() == not_found(424242)


# --- POST /api/orders/{id}/cancel/ ---------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "status"),
    [("anon", 401), ("other_api", 404), ("customer_api", 200), ("staff_api", 404)],
)
def test_cancel_permissions(request, customer, orders, product, who, status):
    order = orders["first"]
    before = world()

    response = request.getfixturevalue(who).post(f"{ORDERS}{order.pk}/cancel/")

    assert response.status_code == status
    if status == 200:
        assert response.json() == order_body(order)
        assert order.status == "cancelled"
        product.refresh_from_db()
        assert product.stock == before["stock"][product.pk] + 1
        change = OrderStatusChange.objects.latest("id")
        assert (change.from_status, change.to_status, change.changed_by_id) == (
            "pending",
            "cancelled",
            customer.pk,
        )
        event = OrderEvent.objects.get(order=order, type="order.status_changed")
        assert (event.old_status, event.new_status, event.recipient_id) == (
            "pending",
            "cancelled",
            customer.pk,
        )
    else:
        # Staff cancel through PATCH; this endpoint is the owner's, so others' orders stay unknown.
        expected = {401: NOT_AUTHENTICATED, 404: not_found(order.pk)}[status]
        assert without_pydantic_wording(response.json()) == expected
        assert world() == before


@pytest.mark.parametrize("old", ["processing", "shipped", "delivered", "cancelled"])
def test_owner_cannot_cancel_after_pending(customer_api, customer, staff, product, old):
    order = order_in(old, customer=customer, product=product, by=staff)
    before = world()

    response = customer_api.post(f"{ORDERS}{order.pk}/cancel/")

    assert response.status_code == 409
    assert response.json() == refused_transition(order.pk, old, "cancelled")
    assert world() == before


def test_cancel_missing_order_is_404(customer_api):
    response = customer_api.post(f"{ORDERS}424242/cancel/")

    assert response.status_code == 404
    assert response.json() == not_found(424242)
