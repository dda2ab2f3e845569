"""Every write path that touches a product's stock, raced against the others on PostgreSQL with
real threads: checkouts, cancels, staff edits (PATCH and PUT), stock adjustments and counts,
and deletes. Whatever the interleaving, stock == start - sold, the ledger adds up to the stock
and chains (each movement's stock_after is the previous one's plus its delta), and no request
answers 500."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
from django.core.management import call_command
from django.db.models import Sum

from catalog.models import Category, Product, StockMovement
from catalog.tests.conftest import new_category
from conftest import ApiClient, client_for, fullstack
from orders.models import Order, OrderItem, OrderStatus
from orders.tests.factories import new_product, new_user, place_order
from orders.tests.test_concurrency import Reply, checkout, race

pytestmark = [fullstack, pytest.mark.django_db(transaction=True)]

ORDERS = "/api/orders/"


def sold(product: Product) -> int:
    """Units of the product in orders that were not cancelled."""
    return int(
        OrderItem.objects.filter(product=product)
        .exclude(order__status=OrderStatus.CANCELLED)
        .aggregate(n=Sum("quantity"))["n"]
        or 0
    )


def assert_ledger_holds(product: Product) -> None:
    """The stock is the ledger's sum, and the ledger is one unbroken chain in write order."""
    product.refresh_from_db()
    running = 0
    for delta, stock_after in (
        StockMovement.objects.filter(product=product)
        .order_by("pk")
        .values_list("delta", "stock_after")
    ):
        running += delta
        assert stock_after == running >= 0
    assert product.stock == running


def outcomes(kinds: list[str], replies: list[Reply]) -> Counter[tuple[str, int, str | None]]:
    return Counter(
        (kind, r.status, r.body.get("code") if isinstance(r.body, dict) else None)
        for kind, r in zip(kinds, replies, strict=True)
    )


def test_edits_racing_checkouts_leave_every_sale_sold(staff: Any) -> None:
    lamp = new_product(name="Lamp", stock=2000)
    bulb = new_product(name="Bulb", stock=2000)
    buyers = [client_for(new_user()) for _ in range(6)]
    staff_api = client_for(staff)
    rng = random.Random(9)
    calls: list[Callable[[], Any]] = []
    kinds: list[str] = []
    for i in range(60):
        lines = [(lamp, 1)] if i % 2 else [(lamp, 1), (bulb, 2)]  # both checkout paths
        calls.append(checkout(buyers[i % len(buyers)], lines))
        kinds.append("checkout")
    for i in range(30):
        calls.append(
            partial(staff_api.patch, f"/api/products/{lamp.pk}/", {"description": f"edit {i}"})
        )
        kinds.append("patch")
    for i in range(10):
        body = {"name": "Bulb", "price": "10.00", "category_id": bulb.category_id}
        calls.append(
            partial(staff_api.put, f"/api/products/{bulb.pk}/", {**body, "description": f"{i}"})
        )
        kinds.append("put")
    order = list(range(len(calls)))
    rng.shuffle(order)

    replies, elapsed = race([calls[i] for i in order])

    result = outcomes([kinds[i] for i in order], replies)
    print(f"\nedits vs checkouts: {dict(result)} in {elapsed:.2f}s")
    assert result == {
        ("checkout", 201, None): 60,
        ("patch", 200, None): 30,
        ("put", 200, None): 10,
    }
    lamp.refresh_from_db()
    bulb.refresh_from_db()
    assert (lamp.stock, bulb.stock) == (2000 - 60, 2000 - 60)
    assert (sold(lamp), sold(bulb)) == (60, 60)
    assert (lamp.version, bulb.version) == (31, 11)
    assert_ledger_holds(lamp)
    assert_ledger_holds(bulb)
    call_command("check_stock", "--no-progress")


def test_adjustments_counts_cancels_and_checkouts_never_go_below_zero(staff: Any) -> None:
    product = new_product(name="Kettle", stock=20)
    owners = [new_user() for _ in range(5)]
    apis = {u.pk: client_for(u) for u in owners}
    staff_api = client_for(staff)
    placed = [place_order(customer=u, lines=[(product, 2)]) for u in owners]  # stock now 10
    rng = random.Random(11)
    url = f"/api/products/{product.pk}/stock/"
    calls: list[Callable[[], Any]] = []
    kinds: list[str] = []
    for u in owners:
        for _ in range(6):
            calls.append(checkout(apis[u.pk], [(product, 1)]))
            kinds.append("checkout")
    for order in placed:
        calls.append(partial(apis[order.customer_id].post, f"{ORDERS}{order.pk}/cancel/"))
        kinds.append("cancel")
    for _ in range(10):
        calls.append(partial(staff_api.post, url, {"delta": -3, "reason": "write-off"}))
        kinds.append("delta-")
    for _ in range(5):
        calls.append(partial(staff_api.post, url, {"delta": 4, "reason": "delivery"}))
        kinds.append("delta+")
    for _ in range(5):
        calls.append(partial(staff_api.post, url, {"set": rng.randint(0, 6), "reason": "count"}))
        kinds.append("set")
    order_ = list(range(len(calls)))
    rng.shuffle(order_)

    replies, elapsed = race([calls[i] for i in order_])

    result = outcomes([kinds[i] for i in order_], replies)
    print(f"\nstock ops vs checkouts: {dict(result)} in {elapsed:.2f}s")
    allowed = {
        ("checkout", 201, None),
        ("checkout", 409, "insufficient_stock"),
        ("cancel", 200, None),
        ("delta-", 201, None),
        ("delta-", 409, "stock_below_zero"),
        ("delta+", 201, None),
        ("set", 201, None),
    }
    assert set(result) <= allowed
    assert result[("cancel", 200, None)] == 5
    assert result[("delta+", 201, None)] == 5
    assert result[("set", 201, None)] == 5
    assert sum(n for (kind, _, _), n in result.items() if kind == "checkout") == 30
    product.refresh_from_db()
    assert product.stock >= 0
    assert_ledger_holds(product)
    # Every checkout that succeeded is a sale on the ledger, and every cancel a return.
    sales = StockMovement.objects.filter(product=product, kind="sale").count()
    assert sales == 5 + result[("checkout", 201, None)]
    assert StockMovement.objects.filter(product=product, kind="cancellation").count() == 5
    call_command("check_stock", "--no-progress")


@pytest.mark.parametrize("round_", range(6))
def test_deleting_a_product_while_it_is_bought_is_never_a_500(staff: Any, round_: int) -> None:
    product = new_product(name="Last Lamp", stock=100)
    buyers: list[ApiClient] = [client_for(new_user()) for _ in range(8)]
    staff_api = client_for(staff)
    calls: list[Callable[[], Any]] = [checkout(api, [(product, 1)]) for api in buyers]
    kinds = ["checkout"] * len(calls)
    at = random.Random(round_).randrange(len(calls) + 1)
    calls.insert(at, partial(staff_api.delete, f"/api/products/{product.pk}/"))
    kinds.insert(at, "delete")

    replies, _ = race(calls)

    result = outcomes(kinds, replies)
    assert set(result) <= {
        ("delete", 204, None),
        ("delete", 409, "product_in_use"),
        ("checkout", 201, None),
        ("checkout", 400, "product_unavailable"),
        ("checkout", 409, "product_removed"),
    }, result
    bought = result[("checkout", 201, None)]
    if result[("delete", 204, None)]:
        assert bought == 0
        assert not Product.objects.filter(pk=product.pk).exists()
        assert not StockMovement.objects.filter(product_id=product.pk).exists()
    else:
        assert bought == Order.objects.count() == sold(product) >= 1
        assert_ledger_holds(product)
        assert product.stock == 100 - bought


@pytest.mark.parametrize("round_", range(6))
def test_deleting_a_category_while_products_are_added_is_never_a_500(
    staff: Any, round_: int
) -> None:
    category = new_category(name="Lamps")
    staff_apis = [client_for(staff) for _ in range(6)]
    calls: list[Callable[[], Any]] = [
        partial(
            api.post,
            "/api/products/",
            {"name": f"Lamp {i}", "price": "9.00", "stock": 1, "category_id": category.pk},
        )
        for i, api in enumerate(staff_apis[1:])
    ]
    kinds = ["create"] * len(calls)
    at = random.Random(round_).randrange(len(calls) + 1)
    calls.insert(at, partial(staff_apis[0].delete, f"/api/categories/{category.pk}/"))
    kinds.insert(at, "delete")

    replies, _ = race(calls)

    result = outcomes(kinds, replies)
    assert set(result) <= {
        ("delete", 204, None),
        ("delete", 409, "category_in_use"),
        ("create", 201, None),
        ("create", 400, "unknown_category"),
    }, result
    created = result[("create", 201, None)]
    assert Product.objects.count() == created
    if result[("delete", 204, None)]:
        assert created == 0
        assert not Category.objects.exists()
    else:
        assert created >= 1
        call_command("check_stock", "--no-progress")
