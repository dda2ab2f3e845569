"""A catalog write while Redis stalls: committed, and shown by every read path within 5 s.

Redis is paused (`CLIENT PAUSE`) while staff PATCH two products, so the cachalot invalidation
of those writes cannot reach it. Then this process (Django's list and detail, anonymous and a
customer's token) and another one (a real uvicorn: its edge cache, and Django behind it) must
all show the new price and the deactivation within STALE_SECONDS of the commit. And while the
invalidation cannot land, the process that wrote serves nothing old itself.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from catalog.tests.conftest import cache_in, new_category, new_product
from conftest import ApiClient, access_for, fullstack
from testkit.live import stack_env, uvicorn
from testkit.processes import Service
from testkit.redis_server import RedisServer
from web.tests.test_edge_cache import _get, edge  # noqa: F401 - a fixture used by name
from web.tests.test_edges_live import Answer, request

pytestmark = [fullstack, pytest.mark.django_db(transaction=True)]

LIST = "/api/products/"
PREFIX = "stall-test"
PAUSE_MS = 1500
STALE_SECONDS = 5.0


@pytest.fixture
def server(throwaway_redis: RedisServer, tmp_path: Path) -> Iterator[Service]:
    """Another process on the same database and the throwaway Redis (cache, broker, layer)."""
    env = stack_env(redis_url=throwaway_redis.url, CACHE_KEY_PREFIX=PREFIX)
    service = uvicorn("stall-uvicorn", env=env, logs=tmp_path)
    try:
        yield service.start()
    finally:
        service.stop()


def _json(answer: Answer) -> Any:
    assert answer.status in (200, 404), answer.body
    return answer.json() if answer.status == 200 else 404


def test_a_write_during_a_redis_stall_shows_on_every_read_path_within_5_s(
    anon: ApiClient,
    staff_api: ApiClient,
    customer_api: ApiClient,
    customer: Any,
    throwaway_redis: RedisServer,
    server: Service,
) -> None:
    category = new_category()
    lamp = new_product(category=category, name="Lamp", price=Decimal("12.50"))
    kettle = new_product(category=category, name="Kettle", price=Decimal("20.00"))
    token = access_for(customer)
    bearer = {"Authorization": f"Bearer {token}"}

    with cache_in(throwaway_redis.url, prefix=PREFIX):
        # Every way a product is read; each returns what the caller saw.
        reads: dict[str, Callable[[], Any]] = {
            "list": lambda: anon.get(LIST).json(),
            "lamp": lambda: anon.get(f"{LIST}{lamp.pk}/").json(),
            "kettle": lambda: anon.get(f"{LIST}{kettle.pk}/").status_code,
            "customer list": lambda: customer_api.get(LIST).json(),
            "edge list": lambda: _json(request(server.url, "GET", LIST)),
            "edge lamp": lambda: _json(request(server.url, "GET", f"{LIST}{lamp.pk}/")),
            "edge kettle": lambda: request(server.url, "GET", f"{LIST}{kettle.pk}/").status,
            "other customer list": lambda: _json(request(server.url, "GET", LIST, headers=bearer)),
        }

        def stale() -> list[str]:
            """The read paths that still show the product as it was before the PATCH."""
            seen = {name: read() for name, read in reads.items()}
            old = []
            for name in ("list", "customer list", "edge list", "other customer list"):
                prices = {p["name"]: p["price"] for p in seen[name]["items"]}
                if prices != {"Lamp": "9.99"}:
                    old.append(name)
            old += [
                n for n in ("lamp", "edge lamp") if seen[n] == 404 or seen[n]["price"] != "9.99"
            ]
            old += [n for n in ("kettle", "edge kettle") if seen[n] != 404]
            return old

        for _ in range(2):  # warm every cache: cachalot's in both processes, the edge cache
            assert sorted(stale()) == sorted(reads)
        keys = throwaway_redis.client().dbsize()
        assert isinstance(keys, int) and keys > 0  # cached in that Redis

        throwaway_redis.client().execute_command("CLIENT", "PAUSE", str(PAUSE_MS), "ALL")
        paused_at = time.monotonic()
        assert staff_api.patch(f"{LIST}{lamp.pk}/", {"price": "9.99"}).status_code == 200
        assert staff_api.patch(f"{LIST}{kettle.pk}/", {"is_active": False}).status_code == 200
        committed_at = time.monotonic()
        # Both writes committed while Redis answered nobody: their invalidation could not land.
        assert committed_at - paused_at < PAUSE_MS / 1000

        still_stale = stale()
        while still_stale and time.monotonic() - committed_at < STALE_SECONDS:
            still_stale = stale()  # eight requests: a poll without a sleep
        waited = time.monotonic() - committed_at
        assert still_stale == [], f"old data {waited:.1f} s after the commit"
        assert stale() == []  # and it stays that way


def test_while_its_invalidation_is_pending_the_writer_serves_nothing_old(
    anon: ApiClient,
    staff_api: ApiClient,
    throwaway_redis: RedisServer,
    edge: tuple[Any, Any],  # noqa: F811
) -> None:
    """Redis answers reads but takes no write (`CLIENT PAUSE WRITE`): the stamps there are the
    old ones, so only what this process remembers keeps it (Django and the edge cache) fresh."""
    app, django = edge
    with cache_in(throwaway_redis.url, prefix="pending-test"):
        lamp = new_product(name="Lamp", price=Decimal("12.50"))
        for _ in range(2):  # warm cachalot and the edge cache
            assert anon.get(LIST).json()["items"][0]["price"] == "12.50"
            assert json.loads(_get(app, LIST)[2])["items"][0]["price"] == "12.50"
        assert django.calls == 1

        redis_client = throwaway_redis.client()
        redis_client.execute_command("CLIENT", "PAUSE", "5000", "WRITE")
        try:
            assert staff_api.patch(f"{LIST}{lamp.pk}/", {"price": "9.99"}).status_code == 200
            status, _, body = _get(app, LIST)
            assert (status, json.loads(body)["items"][0]["price"]) == (200, "9.99")
            assert django.calls == 2  # not the stored page: Django answered
            assert anon.get(LIST).json()["items"][0]["price"] == "9.99"
            assert anon.get(f"{LIST}{lamp.pk}/").json()["price"] == "9.99"
        finally:
            redis_client.execute_command("CLIENT", "UNPAUSE")
