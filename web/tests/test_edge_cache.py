"""The ASGI catalog cache: served from memory only while cachalot's stamps say it is fresh."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.core.asgi import get_asgi_application
from django.core.signals import request_finished, request_started
from django.db import close_old_connections

from catalog import services
from catalog.tests.conftest import new_product
from catalog.tests.factories import ProductFactory
from config.asgi import catalog_edge_cache
from conftest import client_for, page_of
from web.edge_cache import CatalogEdgeCache


class Recorder:
    """Counts requests that reached Django behind the edge cache."""

    def __init__(self) -> None:
        self.django = get_asgi_application()
        self.calls = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.calls += 1
        await self.django(scope, receive, send)


def _get(app: Any, path: str, query: str = "", headers: dict[str, str] | None = None) -> Any:
    raw_headers = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": query.encode(),
        "headers": [(b"host", b"testserver"), *raw_headers],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
    }
    sent: list[dict[str, Any]] = []
    delivered = False

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.Event().wait()  # the client stays connected until Django is done
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async_to_sync(app)(scope, receive, send)
    start = sent[0]
    body = b"".join(m.get("body", b"") for m in sent[1:])
    return start["status"], dict(start["headers"]), body


@pytest.fixture
def edge() -> Iterator[tuple[CatalogEdgeCache, Recorder]]:
    # As django.test.Client does: the test owns the DB connection, requests must not close it.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    recorder = Recorder()
    shipped = catalog_edge_cache
    yield CatalogEdgeCache(recorder, paths=shipped.paths, tables=shipped.tables), recorder
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.mark.django_db(transaction=True)  # cachalot stamps move on commit
def test_repeated_anonymous_list_is_served_without_django(edge: Any) -> None:
    app, recorder = edge
    ProductFactory(name="Lamp", price=Decimal("12.50"))
    first = _get(app, "/api/products/", "page_size=5")
    second = _get(app, "/api/products/", "page_size=5")
    assert first[0] == second[0] == 200
    assert first[2] == second[2]
    assert json.loads(second[2])["items"][0]["name"] == "Lamp"
    assert recorder.calls == 1
    assert second[1][b"cache-control"] == b"public, no-cache"
    assert second[1][b"etag"] == first[1][b"etag"]


@pytest.mark.django_db(transaction=True)  # cachalot stamps move on commit
def test_a_write_makes_the_next_read_fresh(edge: Any) -> None:
    app, recorder = edge
    product = new_product(name="Lamp", price=Decimal("12.50"))
    _get(app, "/api/products/")
    services.product_update(product=product, data={"price": Decimal("9.99")})
    status, _, body = _get(app, "/api/products/")
    assert status == 200
    assert json.loads(body)["items"][0]["price"] == "9.99"
    assert recorder.calls == 2


@pytest.mark.django_db(transaction=True)  # cachalot stamps move on commit
def test_if_none_match_gets_304_without_a_body(edge: Any) -> None:
    app, _ = edge
    ProductFactory()
    _, headers, _ = _get(app, "/api/products/")
    status, headers_304, body = _get(
        app, "/api/products/", headers={"If-None-Match": headers[b"etag"].decode()}
    )
    assert (status, body) == (304, b"")
    assert headers_304[b"etag"] == headers[b"etag"]


@pytest.mark.django_db(transaction=True)  # cachalot stamps move on commit
def test_requests_with_a_token_always_reach_django(edge: Any, staff: Any) -> None:
    app, recorder = edge
    ProductFactory(name="Hidden", is_active=False)
    token = client_for(staff).token
    anon = json.loads(_get(app, "/api/products/")[2])
    staff_view = json.loads(
        _get(app, "/api/products/", headers={"Authorization": f"Bearer {token}"})[2]
    )
    _get(app, "/api/products/", headers={"Authorization": f"Bearer {token}"})
    assert anon == page_of([])
    assert [p["name"] for p in staff_view["items"]] == ["Hidden"]
    assert recorder.calls == 3


@pytest.mark.django_db(transaction=True)  # cachalot stamps move on commit
def test_errors_and_other_paths_are_not_stored(edge: Any) -> None:
    app, recorder = edge
    assert _get(app, "/api/products/999999/")[0] == 404
    assert _get(app, "/api/products/999999/")[0] == 404
    assert _get(app, "/api/products/", "page=0")[0] == 422
    assert _get(app, "/api/products/", "page=0")[0] == 422
    assert recorder.calls == 4


@pytest.mark.django_db(transaction=True)  # cachalot stamps move on commit
def test_nothing_is_served_when_the_stamps_are_unknown(edge: Any) -> None:
    from cachalot.utils import get_table_cache_key
    from django.core.cache import cache

    app, recorder = edge
    ProductFactory()
    _get(app, "/api/products/")
    _get(app, "/api/products/")
    assert recorder.calls == 1
    cache.delete(get_table_cache_key("default", "catalog_product"))  # e.g. Redis restarted
    _get(app, "/api/products/")
    assert recorder.calls == 2
