"""The web handler: Django's sync chain on a thread pool, borrowing pooled connections.

Driven in-process through ASGI (no server), against PostgreSQL, whose row locks and backend
processes are what these tests are about.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
from channels.testing import HttpCommunicator
from django.db import connection
from psycopg_pool import ConnectionPool

from accounts.services import token_obtain
from accounts.tests.factories import PASSWORD
from catalog.models import Product
from conftest import fullstack, side_connection
from orders.models import Order
from orders.tests.factories import new_product, new_user
from web.handlers import ThreadPoolASGIHandler

pytestmark = [fullstack, pytest.mark.django_db(transaction=True)]


def _call(handler: ThreadPoolASGIHandler, method: str, path: str, token: str, body: Any = None):
    headers = [(b"host", b"testserver"), (b"authorization", f"Bearer {token}".encode())]
    raw = b""
    if body is not None:
        headers.append((b"content-type", b"application/json"))
        raw = json.dumps(body).encode()
    return HttpCommunicator(handler, method, path, body=raw, headers=headers)


def _checked_out() -> int:
    pool: ConnectionPool = connection.pool  # type: ignore[attr-defined]  # Django 5.1+, no stub yet
    stats = pool.get_stats()
    return int(stats["pool_size"] - stats["pool_available"])


def _settles_at(expected: int, timeout: float = 5.0) -> int:
    """`_checked_out()` once the pool is done growing: pool_size also counts connections the
    pool is still opening in the background (slow on a loaded machine), not only those out."""
    deadline = time.monotonic() + timeout
    while (found := _checked_out()) != expected and time.monotonic() < deadline:
        time.sleep(0.05)
    return found


async def _until_a_backend_waits_on_a_lock(timeout: float = 10.0) -> None:
    # Its own connection, in autocommit: pg_stat_activity is read once per transaction.
    watcher = side_connection()
    watcher.autocommit = True
    deadline = time.monotonic() + timeout
    try:
        while not watcher.execute(
            "SELECT 1 FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        ).fetchall():
            assert time.monotonic() < deadline, "no request ever waited on the locked row"
            await asyncio.sleep(0.02)
    finally:
        watcher.close()


@pytest.fixture
def buyer_token() -> str:
    user = new_user()
    return str(token_obtain(username=user.username, password=PASSWORD)["access"])


def test_a_checkout_waiting_on_a_locked_row_does_not_hold_up_other_requests(buyer_token):
    handler = ThreadPoolASGIHandler(threads=4)
    product = new_product(stock=5)
    locker = side_connection()
    locker.execute("SELECT 1 FROM catalog_product WHERE id = %s FOR UPDATE", [product.pk])

    async def scenario() -> tuple[dict[str, Any], dict[str, Any], bool]:
        order = {"items": [{"product_id": product.pk, "quantity": 2}]}
        checkout = asyncio.ensure_future(
            _call(handler, "POST", "/api/orders/", buyer_token, order).get_response(timeout=30)
        )
        await _until_a_backend_waits_on_a_lock()  # the checkout, on the row lock
        listing = await _call(handler, "GET", "/api/orders/", buyer_token).get_response(5)
        waiting = not checkout.done()
        locker.commit()
        return listing, await checkout, waiting

    try:
        listing, placed, checkout_was_waiting = asyncio.run(scenario())
    finally:
        locker.close()

    assert checkout_was_waiting
    assert listing["status"] == 200
    assert json.loads(listing["body"])["count"] == 0
    assert placed["status"] == 201
    assert json.loads(placed["body"])["items"][0]["quantity"] == 2
    assert Product.objects.get(pk=product.pk).stock == 3
    assert Order.objects.count() == 1


def test_request_threads_return_their_connections_and_survive_dropped_ones(buyer_token):
    handler = ThreadPoolASGIHandler(threads=4)
    before = _checked_out()

    async def lists(n: int) -> list[dict[str, Any]]:
        calls = [_call(handler, "GET", "/api/orders/", buyer_token) for _ in range(n)]
        return list(await asyncio.gather(*(c.get_response(timeout=10) for c in calls)))

    first = asyncio.run(lists(8))
    assert [r["status"] for r in first] == [200] * 8
    assert _settles_at(before) == before  # nothing is left pinned to an idle request thread

    # PostgreSQL drops every other backend of this database (a restart, a failover, an
    # operator's pg_terminate_backend): the pool's idle connections are now dead.
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (ours,) = cursor.fetchone()
    killer = side_connection()
    try:
        killed = killer.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid NOT IN (pg_backend_pid(), %s)",
            [ours],
        ).fetchone()
    finally:
        killer.close()
    assert killed is not None and killed[0] >= 1

    second = asyncio.run(lists(8))
    assert [r["status"] for r in second] == [200] * 8
    assert _settles_at(before) == before


def test_the_pool_needs_at_least_one_thread():
    with pytest.raises(ValueError, match="WEB_THREADS must be at least 1"):
        ThreadPoolASGIHandler(threads=0)
