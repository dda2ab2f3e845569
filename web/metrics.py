"""Prometheus metrics (prometheus-client) and the protected `GET /metrics` view.

Per process: each uvicorn process counts its own requests, checkouts and sockets, so scrape
every process (one target each). The outbox figures are read from the database at scrape
time, so every process reports the same ones.
"""

from __future__ import annotations

import hmac
import logging
from bisect import bisect_left
from collections.abc import Iterator
from itertools import accumulate

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Gauge, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

logger = logging.getLogger(__name__)

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
CHECKOUTS = Counter("shop_checkouts", "Checkouts (POST /api/orders/) by outcome", ["outcome"])
CHECKOUT_OUTCOMES = ("created", "replayed", "insufficient_stock", "catalog_changed", "refused")
WEBSOCKETS_OPEN = Gauge("shop_websocket_connections_open", "WebSocket connections open")


class RequestCollector(Collector):
    """Requests by route template, method and status, with latency histograms.

    Counted by the `Edges` layer on the event loop's one thread, in plain lists: a
    prometheus-client Counter and Histogram take a lock per increment (four a request), about
    half of that layer's cost on the warm catalog path, whose budget is 5%. A scrape (on a
    Django thread) copies each row in one step (a list slice holds the GIL), so every figure
    of a series comes from the same moment.
    """

    def __init__(self, buckets: tuple[float, ...] = LATENCY_BUCKETS):
        self.buckets = buckets
        # (route, method, status) -> [seconds summed, one count per bucket, then +Inf]
        self.rows: dict[tuple[str, str, int], list[float]] = {}

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        key = (route, method, status)
        row = self.rows.get(key)
        if row is None:
            if method not in _METHODS:
                method = "OTHER"
                key = (route, method, status)
            row = self.rows.setdefault(key, [0.0] * (len(self.buckets) + 2))
        row[0] += seconds
        row[1 + bisect_left(self.buckets, seconds)] += 1

    def describe(self) -> Iterator[Metric]:
        return iter(())  # known only at scrape time; nothing to check at registration

    def collect(self) -> Iterator[Metric]:
        requests = CounterMetricFamily(
            "shop_http_requests",
            "HTTP requests answered, by route template",
            labels=["route", "method", "status"],
        )
        latency: dict[tuple[str, str], list[float]] = {}
        for (route, method, status), row in list(self.rows.items()):
            snap = row[:]
            requests.add_metric([route, method, str(status)], sum(snap[1:]))
            merged = latency.setdefault((route, method), [0.0] * len(snap))
            for i, value in enumerate(snap):
                merged[i] += value
        yield requests
        histogram = HistogramMetricFamily(
            "shop_http_request_duration_seconds",
            "Time from the request's arrival to the end of its answer, by route template",
            labels=["route", "method"],
        )
        bounds = [*(floatToGoString(b) for b in self.buckets), "+Inf"]
        for (route, method), merged in latency.items():
            cumulative = list(accumulate(merged[1:]))
            histogram.add_metric(
                [route, method], list(zip(bounds, cumulative, strict=True)), merged[0]
            )
        yield histogram


REQUESTS = RequestCollector()
REGISTRY.register(REQUESTS)


def observe_request(route: str, method: str, status: int, seconds: float) -> None:
    REQUESTS.observe(route, method, status, seconds)


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
    from web.edges import json_error

    if not _allowed(request):
        return json_error(
            403,
            "Metrics need `Authorization: Bearer <METRICS_TOKEN>` or an address in "
            "METRICS_ALLOWED_IPS.",
            "permission_denied",
        )
    return HttpResponse(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)
