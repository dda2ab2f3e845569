"""`GET /healthz` (liveness) and `GET /readyz` (readiness: each dependency answers in time).

Written out rather than taken from django-health-check: its checks are per-backend plugins
rendered through templates, it has none for a Channels layer, and a few lines here check
exactly the four servers this process talks to, each with its own short timeout.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

import redis
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_safe

from web.edges import JSON

# Checks run side by side, so /readyz takes about one timeout however many parts fail; a
# check that overruns keeps its thread until its own socket timeout ends it.
_checks_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="readyz")


@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    """The process answers; nothing else is touched (a load balancer's liveness probe)."""
    return JsonResponse({"status": "ok"}, content_type=JSON)


def _database() -> str:
    # Through the pool, as requests are: a pool that cannot hand out a connection is not ready.
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    finally:
        connection.close()
    return "ok"


def _redis(url: str) -> Callable[[], str]:
    def check() -> str:
        if not url.startswith(("redis://", "rediss://", "unix://")):
            return "in-process"
        timeout = settings.READYZ_TIMEOUT_SECONDS
        client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
        try:
            client.ping()
        finally:
            client.close()
        return "ok"

    return check


def _channel_layer_url() -> str:
    layer: dict[str, Any] = settings.CHANNEL_LAYERS["default"]
    hosts = layer.get("CONFIG", {}).get("hosts") or []
    return str(hosts[0]) if hosts else ""


def _parts() -> dict[str, Callable[[], str]]:
    return {
        "database": _database,
        "cache": _redis(settings.CACHE_REDIS_URL),
        "broker": _redis(settings.CELERY_BROKER_URL),
        "channel_layer": _redis(_channel_layer_url()),
    }


@require_safe
def readyz(request: HttpRequest) -> JsonResponse:
    """200 with each part's status, or 503 naming the parts that failed."""
    deadline = time.monotonic() + settings.READYZ_TIMEOUT_SECONDS + 0.5
    futures = {name: _checks_pool.submit(check) for name, check in _parts().items()}
    parts: dict[str, str] = {}
    for name, future in futures.items():
        try:
            parts[name] = future.result(timeout=max(deadline - time.monotonic(), 0.01))
        except FutureTimeout:
            parts[name] = "timeout"
        except Exception as exc:  # noqa: BLE001 - any failure means "not ready", and says why
            parts[name] = f"error: {type(exc).__name__}"
    failed = sorted(name for name, state in parts.items() if state not in ("ok", "in-process"))
    if failed:
        body = {
            "status": "unavailable",
            "detail": f"Not ready: {', '.join(failed)}.",
            "code": "not_ready",
            "failed": failed,
            "parts": parts,
        }
        response = JsonResponse(body, status=503, content_type=JSON)
        response["Retry-After"] = str(settings.DB_UNAVAILABLE_RETRY_AFTER)
        return response
    return JsonResponse({"status": "ok", "parts": parts}, content_type=JSON)
