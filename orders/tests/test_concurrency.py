"""Checkout under real concurrency on PostgreSQL: no oversell, no deadlock, one order per key.

Each request runs in its own thread with its own database connection, released together by a
barrier. PostgreSQL here allows 100 connections shared with other test runs, so a semaphore caps
the requests in flight at once; they still contend for the same product rows.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import pytest
from django.db import connection

from catalog.models import Product
from conftest import ApiClient, client_for, fullstack
from orders.models import Order, OrderItem, OrderStatus
from orders.tests.factories import new_product, new_user, place_order

pytestmark = [fullstack, pytest.mark.django_db(transaction=True)]

ORDERS = "/api/orders/"
IN_FLIGHT = 20
JOIN_TIMEOUT = 90.0


@dataclass
class Reply:
    status: int
    body: Any
    replayed: bool


def race(calls: list[Callable[[], Any]]) -> tuple[list[Reply], float]:
    """Run every call in its own thread, all released at once; return replies in call order."""
    barrier = threading.Barrier(len(calls))
    gate = threading.BoundedSemaphore(IN_FLIGHT)
    replies: list[Reply | None] = [None] * len(calls)
    failures: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=JOIN_TIMEOUT)
            with gate:
                try:
                    response = calls[i]()
                finally:
                    connection.close()
            replies[i] = Reply(
                response.status_code,
                response.json() if response.content else None,
                response.headers.get("Idempotent-Replayed") == "true",
            )
        except BaseException as exc:
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(len(calls))]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    deadline = started + JOIN_TIMEOUT
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - time.perf_counter()))
    elapsed = time.perf_counter() - started
    stuck = sum(thread.is_alive() for thread in threads)
    assert stuck == 0, f"{stuck} requests still running after {JOIN_TIMEOUT}s (deadlock?)"
    assert failures == []
    assert None not in replies
    return [r for r in replies if r is not None], elapsed


def checkout(api: ApiClient, lines: list[tuple[Product, int]], **headers: str) -> Callable[[], Any]:
    body = {"items": [{"product_id": p.pk, "quantity": q} for p, q in lines]}
    return lambda: api.post(ORDERS, body, headers=headers or None)


def test_100_buyers_race_for_the_last_40_units():
    product = new_product(name="Last Kettles", stock=40)
    buyers = [client_for(new_user()) for _ in range(100)]

    replies, elapsed = race([checkout(api, [(product, 1)]) for api in buyers])

    statuses = Counter(r.status for r in replies)
    print(f"\n100 buyers / 40 units: {dict(statuses)} in {elapsed:.2f}s")
    assert statuses == {201: 40, 409: 60}
    refusals = {(r.body["code"], r.body["detail"][:40]) for r in replies if r.status == 409}
    assert refusals == {("insufficient_stock", "Not enough stock for 'Last Kettles' (pro")}
    product.refresh_from_db()
    assert product.stock == 0
    assert Order.objects.count() == 40
    assert sorted(OrderItem.objects.values_list("quantity", flat=True)) == [1] * 40
    assert len({r.body["customer_id"] for r in replies if r.status == 201}) == 40


def test_crossing_multi_line_orders_and_cancels_never_deadlock(staff):
    rng = random.Random(20261124)
    products = [new_product(stock=1000) for _ in range(4)]
    initial = {p.pk: p.stock for p in products}
    owners = [new_user() for _ in range(10)]
    apis = {owner.pk: client_for(owner) for owner in owners}
    staff_api = client_for(staff)

    # Orders already placed, to be cancelled while new checkouts lock the same rows.
    doomed = [
        place_order(customer=owner, lines=[(p, rng.randint(1, 5)) for p in products])
        for owner in owners
        for _ in range(2)
    ]
    calls: list[Callable[[], Any]] = []
    kinds: list[str] = []
    for i, order in enumerate(doomed):
        if i % 2:  # the owner cancels half, staff cancel the other half
            calls.append(partial(apis[order.customer_id].post, f"{ORDERS}{order.pk}/cancel/"))
        else:
            calls.append(partial(staff_api.patch, f"{ORDERS}{order.pk}/", {"status": "cancelled"}))
        kinds.append("cancel")
    placed: Counter[int] = Counter()
    for i in range(60):
        lines = [(p, rng.randint(1, 3)) for p in rng.sample(products, rng.randint(2, 4))]
        for p, q in lines:
            placed[p.pk] += q
        calls.append(checkout(apis[owners[i % len(owners)].pk], lines))
        kinds.append("checkout")
    schedule = list(range(len(calls)))
    rng.shuffle(schedule)

    replies, elapsed = race([calls[i] for i in schedule])

    outcome = Counter((kinds[i], r.status) for i, r in zip(schedule, replies, strict=True))
    print(f"\ncrossing checkouts + cancels: {dict(outcome)} in {elapsed:.2f}s")
    assert outcome == {("checkout", 201): 60, ("cancel", 200): 20}
    assert set(
        Order.objects.filter(pk__in=[o.pk for o in doomed]).values_list("status", flat=True)
    ) == {OrderStatus.CANCELLED}
    final = dict(Product.objects.values_list("pk", "stock"))
    assert final == {pk: initial[pk] - placed[pk] for pk in initial}
    live: Counter[int] = Counter()
    for pid, qty in OrderItem.objects.exclude(order__status=OrderStatus.CANCELLED).values_list(
        "product_id", "quantity"
    ):
        live[pid] += qty
    assert final == {pk: initial[pk] - live[pk] for pk in initial}


def test_concurrent_retries_with_one_key_create_one_order(customer):
    product = new_product(stock=100)
    api = client_for(customer)

    replies, _ = race(
        [checkout(api, [(product, 3)], **{"Idempotency-Key": "double-click"}) for _ in range(12)]
    )

    assert sorted((r.status, r.replayed) for r in replies) == [(200, True)] * 11 + [(201, False)]
    assert len({r.body["id"] for r in replies}) == 1
    assert Order.objects.count() == 1
    assert Order.objects.get().idempotency_key == "double-click"
    product.refresh_from_db()
    assert product.stock == 97


def test_concurrent_retries_of_an_order_that_took_the_last_units(customer):
    # The retries wait for the first request's row locks; by then the stock is gone, and they
    # must still answer with the first order rather than "not enough stock".
    product = new_product(stock=3)
    api = client_for(customer)

    replies, _ = race(
        [checkout(api, [(product, 3)], **{"Idempotency-Key": "last-three"}) for _ in range(8)]
    )

    outcome = Counter((r.status, r.replayed, r.body.get("code")) for r in replies)
    assert outcome == {(200, True, None): 7, (201, False, None): 1}
    assert len({r.body["id"] for r in replies}) == 1
    assert Order.objects.count() == 1
    product.refresh_from_db()
    assert product.stock == 0
