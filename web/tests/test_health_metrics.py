"""Health probes and the protected Prometheus metrics, in-process."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.test import Client, override_settings

from catalog.tests.conftest import new_product
from conftest import FULLSTACK, ApiClient

# ---- health and metrics in-process ------------------------------------------------------------


def test_healthz_touches_nothing() -> None:
    response = Client().get("/healthz")  # no database access is allowed here
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


@pytest.mark.django_db(transaction=True)
def test_readyz_names_each_part() -> None:
    response = Client().get("/readyz")
    redis = "ok" if FULLSTACK else "in-process"  # the embedded default has no Redis
    assert (response.status_code, response.json()) == (
        200,
        {
            "status": "ok",
            "parts": {"database": "ok", "cache": redis, "broker": redis, "channel_layer": redis},
        },
    )


def _metrics(**headers: str) -> Any:
    return Client().get("/metrics", headers=headers)


def _sample(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split(" ")[1])
    raise AssertionError(f"{name} not in the metrics")


@pytest.mark.django_db
def test_metrics_are_refused_to_everyone_by_default() -> None:
    response = _metrics()
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert _metrics(Authorization="Bearer ").status_code == 403


@pytest.mark.django_db
def test_metrics_by_token_or_address_count_checkouts_by_outcome(customer_api: ApiClient) -> None:
    product = new_product(stock=1)
    created = 'shop_checkouts_total{outcome="created"}'
    replayed = 'shop_checkouts_total{outcome="replayed"}'
    short = 'shop_checkouts_total{outcome="insufficient_stock"}'
    with override_settings(METRICS_TOKEN="s3cret-token"):
        before = _metrics(Authorization="Bearer s3cret-token").content.decode()
        assert _metrics(Authorization="Bearer wrong").status_code == 403
    order = {"items": [{"product_id": product.pk, "quantity": 1}]}
    key = {"Idempotency-Key": "m-1"}
    assert customer_api.post("/api/orders/", order, headers=key).status_code == 201
    assert customer_api.post("/api/orders/", order, headers=key).status_code == 200
    assert customer_api.post("/api/orders/", order).status_code == 409
    with override_settings(METRICS_ALLOWED_IPS=frozenset({"127.0.0.1"})):
        after = _metrics().content.decode()  # the test client's REMOTE_ADDR
    for name in (created, replayed, short):
        assert _sample(after, name) == _sample(before, name) + 1


def test_request_counts_and_latency_buckets_are_exact() -> None:
    from prometheus_client import CollectorRegistry, generate_latest

    from web.metrics import RequestCollector

    collector = RequestCollector(buckets=(0.01, 0.1))
    registry = CollectorRegistry()
    registry.register(collector)
    for seconds in (0.005, 0.01, 0.05, 2.0):  # a bound is inclusive ("le")
        collector.observe("api/products/", "GET", 200, seconds)
    collector.observe("api/products/", "GET", 304, 0.001)
    collector.observe("<unmatched>", "BREW", 405, 0.2)  # a method we do not know: OTHER
    text = generate_latest(registry).decode()
    get = 'method="GET",route="api/products/"'
    expected = {
        f'shop_http_requests_total{{{get},status="200"}}': 4,
        f'shop_http_requests_total{{{get},status="304"}}': 1,
        'shop_http_requests_total{method="OTHER",route="<unmatched>",status="405"}': 1,
        f'shop_http_request_duration_seconds_bucket{{le="0.01",{get}}}': 3,
        f'shop_http_request_duration_seconds_bucket{{le="0.1",{get}}}': 4,
        f'shop_http_request_duration_seconds_bucket{{le="+Inf",{get}}}': 5,
        f"shop_http_request_duration_seconds_count{{{get}}}": 5,
        'shop_http_request_duration_seconds_bucket{le="0.1",method="OTHER",route="<unmatched>"}': 0,
        'shop_http_request_duration_seconds_count{method="OTHER",route="<unmatched>"}': 1,
    }
    assert {name: _sample(text, name) for name in expected} == expected
    assert _sample(text, f"shop_http_request_duration_seconds_sum{{{get}}}") == pytest.approx(2.066)
    assert "BREW" not in text


@pytest.mark.django_db(transaction=True)
def test_open_websockets_are_counted() -> None:
    from channels.testing import WebsocketCommunicator

    from notifications.consumers import OrderEventsConsumer
    from web.metrics import WEBSOCKETS_OPEN

    async def scenario() -> tuple[float, float]:
        socket = WebsocketCommunicator(OrderEventsConsumer.as_asgi(), "/ws/orders/")
        socket.scope["user"] = await _staff_user()
        connected, _ = await socket.connect()
        assert connected
        during = WEBSOCKETS_OPEN._value.get()
        await socket.disconnect()
        return during, WEBSOCKETS_OPEN._value.get()

    before = WEBSOCKETS_OPEN._value.get()
    during, after = async_to_sync(scenario)()
    assert (during, after) == (before + 1, before)


async def _staff_user() -> Any:
    from channels.db import database_sync_to_async

    from accounts.tests.factories import StaffFactory

    return await database_sync_to_async(StaffFactory)()
