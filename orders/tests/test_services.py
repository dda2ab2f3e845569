"""Order services: checkout, the one status-change path and the owner's cancel, without HTTP."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.db.models import F

from catalog import stock
from catalog.models import Product
from common.errors import Conflict, InvalidInput, NotFound
from notifications.models import OrderEvent
from orders.models import Order, OrderItem, OrderStatus, OrderStatusChange
from orders.services import SNAPSHOT_ATTEMPTS, order_cancel, order_create, order_status_change
from orders.tests.conftest import world
from orders.tests.factories import place_order

pytestmark = pytest.mark.django_db


def test_order_create_reserves_stock_at_catalog_prices(customer, product, second_product):
    order, created = order_create(
        customer=customer, lines=[(second_product.pk, 4), (product.pk, 1), (second_product.pk, 1)]
    )

    assert created is True
    assert (order.customer_id, order.status, order.total) == (
        customer.pk,
        OrderStatus.PENDING,
        Decimal("28.50"),
    )
    assert list(
        order.items.values_list("product_id", "product_name", "unit_price", "quantity")
    ) == [
        (second_product.pk, "Tea Cup", Decimal("3.20"), 5),
        (product.pk, "Blue Kettle", Decimal("12.50"), 1),
    ]
    assert dict(Product.objects.values_list("pk", "stock")) == {
        product.pk: 9,
        second_product.pk: 45,
    }
    assert order.idempotency_key is None
    assert order.request_fingerprint == ""


def test_order_create_takes_exactly_the_last_unit(customer, product):
    order_create(customer=customer, lines=[(product.pk, 10)])

    product.refresh_from_db()
    assert product.stock == 0
    with pytest.raises(Conflict) as exc:
        order_create(customer=customer, lines=[(product.pk, 1)])
    assert exc.value.code == "insufficient_stock"
    assert exc.value.detail == (
        f"Not enough stock for 'Blue Kettle' (product {product.pk}): 1 requested, 0 available."
    )
    assert Order.objects.count() == 1


@pytest.mark.parametrize(
    ("lines", "code"),
    [
        ([], "empty_order"),
        ([(1, 0)], "invalid_quantity"),
        ([(1, 1001)], "invalid_quantity"),
        ([(1, 500), (1, 501)], "invalid_quantity"),
        ([(999_999, 1)], "product_unavailable"),
    ],
)
def test_order_create_refuses_bad_lines_without_touching_anything(customer, product, lines, code):
    lines = [(product.pk if pid == 1 else pid, qty) for pid, qty in lines]
    before = world()

    with pytest.raises(InvalidInput) as exc:
        order_create(customer=customer, lines=lines)

    assert exc.value.code == code
    # A limit broken is a 422 naming it; a request that cannot be an order at all is a 400.
    assert exc.value.status == (422 if code == "invalid_quantity" else 400)
    assert world() == before


def test_a_later_line_refused_leaves_earlier_lines_untouched(customer, product, second_product):
    before = world()

    with pytest.raises(Conflict):
        order_create(customer=customer, lines=[(product.pk, 2), (second_product.pk, 51)])

    assert world() == before


def _catalog_moves_after_snapshot(monkeypatch, times: int, **change):
    """Apply `change` to the products right after each of the first `times` snapshots."""
    real = stock.sale_snapshot
    calls = {"n": 0}

    def snapshot_then_change(product_ids):
        taken = real(product_ids)
        calls["n"] += 1
        if calls["n"] <= times:
            Product.objects.filter(pk__in=list(product_ids)).update(
                **{k: (v(calls["n"]) if callable(v) else v) for k, v in change.items()}
            )
        return taken

    monkeypatch.setattr(stock, "sale_snapshot", snapshot_then_change)
    return calls


def test_a_price_change_before_the_lock_is_caught_and_the_order_takes_the_new_price(
    monkeypatch, customer, product
):
    calls = _catalog_moves_after_snapshot(monkeypatch, times=1, price=Decimal("13.00"))

    order, created = order_create(customer=customer, lines=[(product.pk, 2)])

    assert (created, calls["n"]) == (True, 2)
    assert order.total == Decimal("26.00")
    assert [(i.unit_price, i.quantity) for i in order.created_items] == [(Decimal("13.00"), 2)]
    assert list(Order.objects.values_list("total", flat=True)) == [Decimal("26.00")]
    assert list(OrderItem.objects.values_list("unit_price", flat=True)) == [Decimal("13.00")]
    product.refresh_from_db()
    assert product.stock == 8


def test_a_catalog_that_keeps_moving_is_a_409_and_writes_nothing(monkeypatch, customer, product):
    before = world()
    calls = _catalog_moves_after_snapshot(
        monkeypatch, times=99, price=lambda n: Decimal("20.00") + n
    )

    with pytest.raises(Conflict) as exc:
        order_create(customer=customer, lines=[(product.pk, 1)])

    assert (exc.value.code, calls["n"]) == ("catalog_changed", SNAPSHOT_ATTEMPTS)
    assert exc.value.detail == "The catalog changed while the order was placed; please try again."
    assert world() == before


def test_a_product_withdrawn_before_the_lock_is_refused_and_writes_nothing(
    monkeypatch, customer, product
):
    before = world()
    _catalog_moves_after_snapshot(monkeypatch, times=1, is_active=False)

    with pytest.raises(InvalidInput) as exc:
        order_create(customer=customer, lines=[(product.pk, 1)])

    assert exc.value.code == "product_unavailable"
    assert world() == before


def test_idempotency_key_replays_and_guards_its_items(customer, product):
    first, created = order_create(customer=customer, lines=[(product.pk, 2)], idempotency_key="k1")
    again, replayed_created = order_create(
        customer=customer, lines=[(product.pk, 1), (product.pk, 1)], idempotency_key="k1"
    )

    assert (created, replayed_created) == (True, False)
    assert again.pk == first.pk
    assert Order.objects.count() == 1
    with pytest.raises(Conflict) as exc:
        order_create(customer=customer, lines=[(product.pk, 3)], idempotency_key="k1")
    assert exc.value.code == "idempotency_key_reused"
    product.refresh_from_db()
    assert product.stock == 8


def test_the_database_refuses_negative_stock(product):
    # The CHECK constraint backs the check in code: no path can write stock < 0.
    with pytest.raises(IntegrityError), transaction.atomic():
        Product.objects.filter(pk=product.pk).update(stock=F("stock") - 11)
    product.refresh_from_db()
    assert product.stock == 10


def test_the_database_refuses_a_zero_quantity_line(customer, product):
    order = place_order(customer=customer, lines=[(product, 1)])
    with pytest.raises(IntegrityError), transaction.atomic():
        OrderItem.objects.filter(order=order).update(quantity=0)


def test_the_database_refuses_a_second_line_for_the_same_product(customer, product):
    order = place_order(customer=customer, lines=[(product, 1)])
    with pytest.raises(IntegrityError), transaction.atomic():
        OrderItem.objects.create(
            order=order, product=product, product_name="x", unit_price=1, quantity=1
        )


def test_status_change_records_history_and_outbox(customer, staff, product):
    order = place_order(customer=customer, lines=[(product, 3)])

    changed = order_status_change(order_id=order.pk, status="processing", by=staff)
    changed = order_status_change(order_id=order.pk, status="cancelled", by=staff)

    assert changed.status == "cancelled"
    assert list(
        OrderStatusChange.objects.filter(order=order).values_list(
            "from_status", "to_status", "changed_by"
        )
    ) == [
        ("", "pending", customer.pk),
        ("pending", "processing", staff.pk),
        ("processing", "cancelled", staff.pk),
    ]
    assert list(
        OrderEvent.objects.filter(order=order)
        .order_by("id")
        .values_list("recipient", "old_status", "new_status")
    ) == [
        (customer.pk, "", "pending"),
        (customer.pk, "pending", "processing"),
        (customer.pk, "processing", "cancelled"),
    ]
    product.refresh_from_db()
    assert product.stock == 10


def test_status_change_refuses_a_transition_outside_the_table(customer, staff, product):
    order = place_order(customer=customer, lines=[(product, 1)])
    order_status_change(order_id=order.pk, status="shipped", by=staff)
    before = world()

    with pytest.raises(Conflict) as exc:
        order_status_change(order_id=order.pk, status="processing", by=staff)

    assert exc.value.code == "invalid_transition"
    assert exc.value.detail == f"Order {order.pk} cannot change from 'shipped' to 'processing'."
    assert world() == before


def test_status_change_of_a_missing_order(staff):
    with pytest.raises(NotFound) as exc:
        order_status_change(order_id=424242, status="shipped", by=staff)
    assert exc.value.code == "order_not_found"


def test_order_cancel_is_the_owners_and_only_while_pending(customer, other_customer, product):
    order = place_order(customer=customer, lines=[(product, 4)])

    with pytest.raises(NotFound):
        order_cancel(order_id=order.pk, by=other_customer)
    cancelled = order_cancel(order_id=order.pk, by=customer)

    assert cancelled.status == "cancelled"
    product.refresh_from_db()
    assert product.stock == 10
    with pytest.raises(Conflict):
        order_cancel(order_id=order.pk, by=customer)
    product.refresh_from_db()
    assert product.stock == 10
