"""The API's edges against real uvicorn processes, over real sockets.

The probes a client (or an attacker) can send, each answered in JSON; the database pool losing
its backends (pg_terminate_backend) and the database being unreachable; /readyz following a
throwaway redis-server down and back; /metrics counting a checkout; the JSON request log.
"""

from __future__ import annotations

import json
import signal
import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from catalog.tests.conftest import new_product
from conftest import access_for, fullstack, side_connection
from notifications.tests.test_fullstack import (  # noqa: F401 - fixtures used by name
    logs,
    throwaway_redis,
)
from orders.models import Order
from orders.tests.factories import new_user
from testkit.live import BIN, server_database_url, stack_env
from testkit.processes import Service, free_port, wait_for

pytestmark = [fullstack, pytest.mark.django_db(transaction=True)]

APP_NAME = "shop-edges-live"  # application_name of the server's backends, to terminate them
METRICS_TOKEN = "metrics-token-for-the-live-edge-tests"
FRONT_END = "http://localhost:3000"
LIMIT = 256 * 1024


class Answer:
    def __init__(self, status: int, headers: dict[str, str], body: bytes):
        self.status, self.headers, self.body = status, headers, body

    def json(self) -> Any:
        return json.loads(self.body)


def raw_request(url: str, head: bytes, body_parts: list[bytes] = ()) -> Answer:  # type: ignore[assignment]
    """Send `head` (request line and headers) then `body_parts`, read one answer to its end."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=15) as sock:
        sock.sendall(head)
        try:
            for part in body_parts:
                sock.sendall(part)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed before the whole body was sent
        data = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            data += chunk
    head_end = data.index(b"\r\n\r\n")
    lines = data[:head_end].decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {k.lower(): v.strip() for k, v in (ln.split(":", 1) for ln in lines[1:])}
    body = data[head_end + 4 :]
    if headers.get("transfer-encoding") == "chunked":
        decoded = b""
        while True:
            size_line, body = body.split(b"\r\n", 1)
            size = int(size_line, 16)
            if size == 0:
                break
            decoded, body = decoded + body[:size], body[size + 2 :]
        body = decoded
    return Answer(status, headers, body)


def request(
    url: str,
    method: str,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
) -> Answer:
    h = {"Host": "127.0.0.1", "Connection": "close", **(headers or {})}
    if body is not None:
        h.setdefault("Content-Length", str(len(body)))
    head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in h.items())
    return raw_request(url, head.encode() + b"\r\n", [body] if body else [])


def _healthz_ready(service: Service) -> bool:
    try:
        return request(service.url, "GET", "/healthz").status == 200
    except OSError:
        return False


def edge_server(
    name: str,
    *,
    log_dir: Path,
    database_url: str | None = None,
    redis_url: str | None = None,
    **env: str,
) -> Service:
    port = free_port()
    argv = [str(BIN / "uvicorn"), "config.asgi:application", "--host", "127.0.0.1"]
    environment = stack_env(
        redis_url=redis_url,
        METRICS_TOKEN=METRICS_TOKEN,
        LOG_FORMAT="json",
        CORS_ALLOWED_ORIGINS=FRONT_END,
        **env,
    )
    environment["DATABASE_URL"] = database_url or (
        server_database_url() + f"?application_name={APP_NAME}"
    )
    service = Service(
        name, [*argv, "--port", str(port)], env=environment, logs=log_dir, ready=_healthz_ready
    )
    service.url = f"http://127.0.0.1:{port}"
    return service


@pytest.fixture(scope="module")
def server(django_db_setup: Any, logs: Path) -> Iterator[Service]:  # noqa: F811
    service = edge_server("edges-uvicorn", log_dir=logs, DB_POOL_TIMEOUT="3")
    try:
        yield service.start()
    finally:
        service.stop()


@pytest.fixture
def buyer() -> tuple[Any, str]:
    user = new_user()
    return user, access_for(user)


def _assert_json_error(answer: Answer, status: int, body: dict[str, Any]) -> None:
    assert answer.status == status, answer.body
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.json() == body
    assert answer.headers["x-request-id"]


# ---- the probes ------------------------------------------------------------------------------


def test_unknown_paths_and_wrong_methods_answer_json(server: Service, buyer: Any) -> None:
    _user, token = buyer
    before = Order.objects.count()
    _assert_json_error(
        request(server.url, "GET", "/api/nope/"),
        404,
        {"detail": "There is no API endpoint at /api/nope/.", "code": "not_found"},
    )
    deleted = request(
        server.url, "DELETE", "/api/orders/1/", headers={"Authorization": f"Bearer {token}"}
    )
    _assert_json_error(
        deleted,
        405,
        {
            "detail": "DELETE is not allowed on /api/orders/1/; allowed: GET, PATCH.",
            "code": "method_not_allowed",
        },
    )
    assert deleted.headers["allow"] == "GET, PATCH"
    options = request(server.url, "OPTIONS", "/api/orders/")
    _assert_json_error(
        options,
        405,
        {
            "detail": "OPTIONS is not allowed on /api/orders/; allowed: GET, POST.",
            "code": "method_not_allowed",
        },
    )
    assert options.headers["allow"] == "GET, POST"
    assert Order.objects.count() == before


def test_a_bad_host_is_refused_even_on_a_warm_catalog_path(server: Service) -> None:
    new_product(stock=1)
    for _ in range(2):  # warm the edge cache for this path
        assert request(server.url, "GET", "/api/products/").status == 200
    _assert_json_error(
        request(server.url, "GET", "/api/products/", headers={"Host": "evil.example"}),
        400,
        {"detail": "The Host header is not one this server answers to.", "code": "bad_host"},
    )


@pytest.mark.parametrize("path", ["/api/orders/", "/api/register/", "/api/token/"])
def test_a_10_mb_body_is_refused_with_413_before_it_is_read(server: Service, path: str) -> None:
    before = Order.objects.count()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {10 * 1024 * 1024}\r\n\r\n"
    ).encode()
    started = time.monotonic()
    answer = raw_request(server.url, head, [b"x" * 65536])  # the server needs no more of it
    _assert_json_error(
        answer,
        413,
        {
            "detail": f"The request body is larger than the limit of {LIMIT} bytes.",
            "code": "payload_too_large",
        },
    )
    assert time.monotonic() - started < 5
    assert Order.objects.count() == before


def test_a_chunked_body_over_the_limit_is_refused_with_413(server: Service, buyer: Any) -> None:
    _user, token = buyer
    before = Order.objects.count()
    head = (
        "POST /api/orders/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {token}\r\nTransfer-Encoding: chunked\r\n\r\n"
    ).encode()
    chunk = b"x" * 32768
    parts = [f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"] * 10 + [b"0\r\n\r\n"]
    _assert_json_error(
        raw_request(server.url, head, parts),
        413,
        {
            "detail": f"The request body is larger than the limit of {LIMIT} bytes.",
            "code": "payload_too_large",
        },
    )
    assert Order.objects.count() == before


def test_too_many_query_parameters_are_a_400(server: Service) -> None:
    query = "&".join(f"p{i}=1" for i in range(1200))
    _assert_json_error(
        request(server.url, "GET", f"/api/products/?{query}"),
        400,
        {"detail": "More than 1000 parameters were sent.", "code": "too_many_fields"},
    )


def test_a_huge_order_is_refused_not_a_500(server: Service, buyer: Any) -> None:
    _user, token = buyer
    product = new_product(stock=5)
    lines = [{"product_id": product.pk, "quantity": 1}] * 100_000
    answer = request(
        server.url,
        "POST",
        "/api/orders/",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        body=json.dumps({"items": lines}).encode(),
    )
    assert answer.status == 413
    assert answer.json()["code"] == "payload_too_large"
    assert Order.objects.count() == 0


def test_a_slashless_post_is_served_not_redirected(server: Service, buyer: Any) -> None:
    user, token = buyer
    product = new_product(stock=3)
    answer = request(
        server.url,
        "POST",
        "/api/orders",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        body=json.dumps({"items": [{"product_id": product.pk, "quantity": 2}]}).encode(),
    )
    assert answer.status == 201, answer.body
    assert answer.json()["items"][0]["quantity"] == 2
    assert Order.objects.filter(customer=user).count() == 1


def test_cors_preflight_and_request_from_an_allowed_origin_only(server: Service) -> None:
    ask = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "if-match"}
    allowed = request(server.url, "OPTIONS", "/api/orders/", headers={"Origin": FRONT_END, **ask})
    assert allowed.status == 204
    assert allowed.headers["access-control-allow-origin"] == FRONT_END
    assert "if-match" in allowed.headers["access-control-allow-headers"]
    other = request(
        server.url, "OPTIONS", "/api/orders/", headers={"Origin": "http://evil.example", **ask}
    )
    assert "access-control-allow-origin" not in other.headers
    new_product(stock=1)
    for _ in range(2):  # rendered by Django, then served by the edge cache
        listing = request(server.url, "GET", "/api/products/", headers={"Origin": FRONT_END})
        assert listing.headers["access-control-allow-origin"] == FRONT_END
        assert "ETag" in listing.headers["access-control-expose-headers"]


# ---- metrics and logs ------------------------------------------------------------------------


def _metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split(" ")[1])
    return 0.0


def test_metrics_are_refused_without_the_token_and_count_a_checkout(
    server: Service, buyer: Any
) -> None:
    _user, token = buyer
    refused = request(server.url, "GET", "/metrics")
    assert refused.status == 403
    assert refused.json()["code"] == "permission_denied"
    wrong = request(server.url, "GET", "/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status == 403

    auth = {"Authorization": f"Bearer {METRICS_TOKEN}"}
    before = request(server.url, "GET", "/metrics", headers=auth).body.decode()
    product = new_product(stock=1)
    order = json.dumps({"items": [{"product_id": product.pk, "quantity": 1}]}).encode()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    assert request(server.url, "POST", "/api/orders/", headers=headers, body=order).status == 201
    assert request(server.url, "POST", "/api/orders/", headers=headers, body=order).status == 409
    after_answer = request(server.url, "GET", "/metrics", headers=auth)
    assert after_answer.status == 200
    assert after_answer.headers["content-type"].startswith("text/plain")
    after = after_answer.body.decode()

    created = 'shop_checkouts_total{outcome="created"}'
    short = 'shop_checkouts_total{outcome="insufficient_stock"}'
    assert _metric(after, created) == _metric(before, created) + 1
    assert _metric(after, short) == _metric(before, short) + 1
    posted = 'shop_http_requests_total{method="POST",route="api/orders/",status="201"}'
    assert _metric(after, posted) >= 1
    assert "shop_http_request_duration_seconds_bucket" in after
    assert "shop_websocket_connections_open" in after
    assert "shop_outbox_events_pending" in after
    assert "shop_outbox_oldest_pending_age_seconds" in after


def test_each_request_writes_one_json_log_line(server: Service, buyer: Any) -> None:
    user, token = buyer
    offset = server.log_size()
    answer = request(
        server.url,
        "GET",
        "/api/orders",
        headers={"Authorization": f"Bearer {token}", "X-Request-ID": "live-line-1"},
    )
    assert (answer.status, answer.headers["x-request-id"]) == (200, "live-line-1")

    def logged() -> list[dict[str, Any]]:
        found = []
        for line in server.log(offset).splitlines():
            if line.startswith("{") and '"live-line-1"' in line:
                found.append(json.loads(line))
        return found

    (entry,) = wait_for(logged, timeout=5, what="the request's log line")
    assert {k: entry[k] for k in ("request_id", "method", "route", "status", "user_id")} == {
        "request_id": "live-line-1",
        "method": "GET",
        "route": "api/orders/",
        "status": 200,
        "user_id": user.pk,
    }
    assert entry["duration_ms"] > 0
    assert entry["logger"] == "shop.request"


# ---- the database going away ------------------------------------------------------------------


def _terminate_server_backends() -> int:
    side = side_connection()
    try:
        side.autocommit = True
        rows = side.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
            [APP_NAME],
        ).fetchall()
        return len(rows)
    finally:
        side.close()


def test_terminated_backends_are_replaced_without_a_restart(server: Service, buyer: Any) -> None:
    _user, token = buyer
    headers = {"Authorization": f"Bearer {token}"}
    with ThreadPoolExecutor(max_workers=6) as pool:  # fill the pool with several connections
        warm = list(
            pool.map(
                lambda _: request(server.url, "GET", "/api/orders/", headers=headers), range(12)
            )
        )
    assert {a.status for a in warm} == {200}
    assert _terminate_server_backends() >= 1

    for _ in range(10):
        started = time.monotonic()
        answer = request(server.url, "GET", "/api/orders/", headers=headers)
        assert (answer.status, answer.body) == (200, answer.body)
        assert time.monotonic() - started < 2

    # Under load: terminations while requests run may fail those requests, as 503, never 500.
    statuses: list[int] = []
    with ThreadPoolExecutor(max_workers=6) as pool:
        for _round in range(3):
            futures = [
                pool.submit(request, server.url, "GET", "/api/orders/", headers=headers)
                for _ in range(12)
            ]
            _terminate_server_backends()
            statuses += [f.result().status for f in futures]
    assert set(statuses) <= {200, 503}
    after = [request(server.url, "GET", "/api/orders/", headers=headers).status for _ in range(5)]
    assert after == [200] * 5


def test_an_unreachable_database_answers_503_promptly(
    django_db_setup: Any,
    logs: Path,  # noqa: F811
) -> None:
    nowhere = f"postgres://postgres@127.0.0.1:{free_port()}/shop"
    service = edge_server("edges-no-db", log_dir=logs, database_url=nowhere, DB_POOL_TIMEOUT="1")
    service.start()
    try:
        started = time.monotonic()
        answer = request(service.url, "GET", "/api/products/1/", headers={"X-Request-ID": "db-1"})
        assert time.monotonic() - started < 4
        assert answer.status == 503
        assert answer.headers["retry-after"] == "5"
        assert answer.json() == {
            "detail": "The database is unavailable; please retry shortly.",
            "code": "service_unavailable",
            "request_id": "db-1",
        }
        assert request(service.url, "GET", "/healthz").status == 200
        ready = request(service.url, "GET", "/readyz")
        assert ready.status == 503
        assert ready.json()["failed"] == ["database"]
        auth = {"Authorization": f"Bearer {METRICS_TOKEN}"}
        scraped = request(service.url, "GET", "/metrics", headers=auth)
        assert scraped.status == 200  # the request metrics, without the outbox figures
        assert 'status="503"' in scraped.body.decode()
        assert "shop_outbox_events_pending" not in scraped.body.decode()
    finally:
        service.stop()


# ---- readiness -------------------------------------------------------------------------------


def test_readyz_follows_redis_down_and_back(
    django_db_setup: Any,
    logs: Path,  # noqa: F811
    throwaway_redis: Service,  # noqa: F811
) -> None:
    service = edge_server("edges-readyz", log_dir=logs, redis_url=throwaway_redis.url)
    service.start()
    try:
        ready = request(service.url, "GET", "/readyz")
        assert (ready.status, ready.json()) == (
            200,
            {
                "status": "ok",
                "parts": {
                    "database": "ok",
                    "cache": "ok",
                    "broker": "ok",
                    "channel_layer": "ok",
                },
            },
        )
        throwaway_redis.stop(signal.SIGKILL)
        started = time.monotonic()
        down = request(service.url, "GET", "/readyz")
        assert time.monotonic() - started < 3
        assert down.status == 503
        body = down.json()
        assert body["failed"] == ["broker", "cache", "channel_layer"]
        assert body["detail"] == "Not ready: broker, cache, channel_layer."
        assert body["parts"]["database"] == "ok"
        assert request(service.url, "GET", "/healthz").status == 200

        throwaway_redis.start()
        back = request(service.url, "GET", "/readyz")
        assert back.status == 200
    finally:
        service.stop()
