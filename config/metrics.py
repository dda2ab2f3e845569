"""Prometheus metrics (prometheus-client) and the protected `GET /metrics` view.

Per process: each uvicorn process counts its own requests, checkouts and sockets, so scrape
every process (one target each), or set PROMETHEUS_MULTIPROC_DIR as prometheus-client
documents for several worker processes behind one port. The outbox figures are read from the
database at scrape time, so every process reports the same ones.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

logger = logging.getLogger(__name__)

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

REQUESTS = Counter(
    "shop_http_requests", "HTTP requests answered, by route template", ["route", "method", "status"]
)
LATENCY = Histogram(
    "shop_http_request_duration_seconds",
    "Time from the request's arrival to the end of its answer, by route template",
    ["route", "method"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
CHECKOUTS = Counter("shop_checkouts", "Checkouts (POST /api/orders/) by outcome", ["outcome"])
CHECKOUT_OUTCOMES = ("created", "replayed", "insufficient_stock", "catalog_changed", "refused")
WEBSOCKETS_OPEN = Gauge("shop_websocket_connections_open", "WebSocket connections open")

# Children made once: a labelled child lookup per request is a dict lookup under a lock.
_children: dict[tuple[str, str, int], tuple[Any, Any]] = {}


def observe_request(route: str, method: str, status: int, seconds: float) -> None:
    key = (route, method, status)
    pair = _children.get(key)
    if pair is None:
        label = method if method in _METHODS else "OTHER"
        pair = (REQUESTS.labels(route, label, str(status)), LATENCY.labels(route, label))
        _children[key] = pair
    pair[0].inc()
    pair[1].observe(seconds)


def checkout_outcome(outcome: str) -> None:
    CHECKOUTS.labels(outcome if outcome in CHECKOUT_OUTCOMES else "refused").inc()


for _outcome in CHECKOUT_OUTCOMES:  # every outcome shows up at 0 before its first checkout
    CHECKOUTS.labels(_outcome)


class OutboxCollector(Collector):
    """Order events not yet pushed to the channel layer, read at scrape time."""

    def describe(self) -> Iterator[GaugeMetricFamily]:
        yield GaugeMetricFamily("shop_outbox_events_pending", "Order events not yet delivered")
        yield GaugeMetricFamily(
            "shop_outbox_oldest_pending_age_seconds", "Age of the oldest undelivered order event"
        )

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from django.db.models import Count, Min

        from notifications.models import OrderEvent

        try:
            found = OrderEvent.objects.filter(delivered_at__isnull=True).aggregate(
                pending=Count("id"), oldest=Min("changed_at")
            )
        except DatabaseError as exc:  # the request metrics still matter while the DB is down
            logger.warning("outbox metrics unavailable: %s", exc)
            return
        oldest = found["oldest"]
        age = (timezone.now() - oldest).total_seconds() if oldest is not None else 0.0
        yield GaugeMetricFamily(
            "shop_outbox_events_pending", "Order events not yet delivered", value=found["pending"]
        )
        yield GaugeMetricFamily(
            "shop_outbox_oldest_pending_age_seconds",
            "Age of the oldest undelivered order event",
            value=max(age, 0.0),
        )


REGISTRY.register(OutboxCollector())


def _allowed(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    given = request.headers.get("Authorization", "")
    if token and hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return True
    return request.META.get("REMOTE_ADDR") in settings.METRICS_ALLOWED_IPS


def metrics_view(request: HttpRequest) -> HttpResponse:
    from config.edges import json_error

    if not _allowed(request):
        return json_error(
            403,
            "Metrics need `Authorization: Bearer <METRICS_TOKEN>` or an address in "
            "METRICS_ALLOWED_IPS.",
            "permission_denied",
        )
    return HttpResponse(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)
