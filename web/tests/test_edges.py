"""The API's edges in-process: Django's test client for the middleware, ASGI calls for the layer
in front of Django (streamed bodies, request ids, log lines, the catalog edge cache's Host check).
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth import get_user_model
from django.test import Client, override_settings

from catalog.models import Product
from catalog.tests.conftest import new_product
from conftest import ApiClient
from orders.models import Order
from web.edges import Edges
from web.tests.conftest import FRONT_END

LIMIT = 256 * 1024
TOO_LARGE = {
    "detail": f"The request body is larger than the limit of {LIMIT} bytes.",
    "code": "payload_too_large",
}


def _state() -> tuple[int, int, list[Any]]:
    """Everything a refused probe could have changed."""
    User = get_user_model()
    return User.objects.count(), Order.objects.count(), list(Product.objects.values())


def _many_params(n: int) -> str:
    return "&".join(f"p{i}=1" for i in range(n))


PROBES = [
    pytest.param(
        "GET",
        "/api/nope/",
        {},
        404,
        {"detail": "There is no API endpoint at /api/nope/.", "code": "not_found"},
        id="unknown-path",
    ),
    pytest.param(
        "GET",
        "/api/nope",
        {},
        404,
        {"detail": "There is no API endpoint at /api/nope.", "code": "not_found"},
        id="unknown-slashless-path",
    ),
    pytest.param(
        "DELETE",
        "/api/orders/1/",
        {},
        405,
        {
            "detail": "DELETE is not allowed on /api/orders/1/; allowed: GET, PATCH.",
            "code": "method_not_allowed",
        },
        id="delete-order",
    ),
    pytest.param(
        "OPTIONS",
        "/api/orders/",
        {},
        405,
        {
            "detail": "OPTIONS is not allowed on /api/orders/; allowed: GET, POST.",
            "code": "method_not_allowed",
        },
        id="options-without-cors",
    ),
    pytest.param(
        "GET",
        "/api/products/",
        {"HTTP_HOST": "evil.example"},
        400,
        {"detail": "The Host header is not one this server answers to.", "code": "bad_host"},
        id="bad-host",
    ),
    pytest.param(
        "POST",
        "/api/register/",
        {"data": "x" * (LIMIT + 1), "content_type": "application/json"},
        413,
        TOO_LARGE,
        id="register-body-too-large",
    ),
    pytest.param(
        "POST",
        "/api/token/",
        {"data": "x" * (LIMIT + 1), "content_type": "application/json"},
        413,
        TOO_LARGE,
        id="token-body-too-large",
    ),
    pytest.param(
        "GET",
        f"/api/products/?{_many_params(1200)}",
        {},
        400,
        {"detail": "More than 1000 parameters were sent.", "code": "too_many_fields"},
        id="too-many-query-fields",
    ),
]


@pytest.mark.parametrize("debug", [False, True], ids=["debug-off", "debug-on"])
@pytest.mark.parametrize(("method", "path", "extra", "status", "body"), PROBES)
@pytest.mark.django_db
def test_every_probe_answers_json_in_the_error_shape_and_changes_nothing(
    method: str, path: str, extra: dict[str, Any], status: int, body: dict[str, Any], debug: bool
) -> None:
    new_product(stock=3)
    before = _state()
    with override_settings(DEBUG=debug):
        response = Client().generic(method, path, **extra)
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/json")
    assert response.json() == body
    assert response["X-Request-ID"]
    if status == 405:
        assert response["Allow"] == body["detail"].split("allowed: ")[1].rstrip(".")
    assert _state() == before


@pytest.mark.parametrize("debug", [False, True], ids=["debug-off", "debug-on"])
@pytest.mark.django_db
def test_a_slashless_post_is_served_in_place_not_redirected(customer_api: ApiClient, debug: bool):
    product = new_product(stock=3)
    with override_settings(DEBUG=debug):
        response = customer_api.post(
            "/api/orders", {"items": [{"product_id": product.pk, "quantity": 1}]}
        )
    assert response.status_code == 201
    assert response.json()["items"][0]["quantity"] == 1
    assert Order.objects.count() == 1
    product.refresh_from_db()
    assert product.stock == 2


@pytest.mark.django_db
def test_a_slashless_get_is_served_in_place(anon: ApiClient) -> None:
    new_product(stock=3)
    response = anon.get("/api/products")
    assert response.status_code == 200
    assert response.json()["count"] == 1


@pytest.mark.django_db
def test_the_admin_keeps_djangos_redirect_to_the_slashed_path() -> None:
    response = Client().get("/admin")
    assert (response.status_code, response["Location"]) == (301, "/admin/")


@pytest.mark.django_db
def test_a_client_request_id_is_returned_and_a_bad_one_replaced(anon: ApiClient) -> None:
    given = anon.get("/api/products/", headers={"X-Request-ID": "abc-123"})
    assert given["X-Request-ID"] == "abc-123"
    made = anon.get("/api/products/", headers={"X-Request-ID": "bad id\nwith newline"})
    assert made["X-Request-ID"] != "bad id\nwith newline"
    assert len(made["X-Request-ID"]) >= 24
    assert made["X-Request-ID"] != anon.get("/api/products/")["X-Request-ID"]


# ---- ASGI: the layer in front of Django -----------------------------------------------------


def _asgi(
    app: Any,
    method: str,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    chunks: list[bytes] | None = None,
    query: str = "",
) -> tuple[int, dict[str, str], bytes]:
    """One request through an ASGI app; the body sent in `chunks` (chunked, no length)."""
    raw_headers = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    if not any(k == b"host" for k, _ in raw_headers):
        raw_headers.append((b"host", b"testserver"))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": query.encode(),
        "headers": raw_headers,
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
    }
    pending = list(chunks or [b""])
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if pending:
            body = pending.pop(0)
            return {"type": "http.request", "body": body, "more_body": bool(pending)}
        await asyncio.Event().wait()  # the client stays connected
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def run() -> None:
        await asyncio.wait_for(app(scope, receive, send), timeout=30)

    async_to_sync(run)()
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return (
        start["status"],
        {k.decode().lower(): v.decode() for k, v in start["headers"]},
        body,
    )


@pytest.fixture
def asgi_app() -> Any:
    from config.asgi import application

    return application


@pytest.mark.django_db(transaction=True)
def test_a_chunked_body_over_the_limit_is_refused_while_it_streams(
    asgi_app: Any, customer_api: ApiClient
) -> None:
    before = _state()
    chunk = b"x" * (64 * 1024)
    status, headers, body = _asgi(
        asgi_app,
        "POST",
        "/api/orders/",
        headers={"Authorization": f"Bearer {customer_api.token}", "Transfer-Encoding": "chunked"},
        chunks=[chunk] * 8,  # 512 KiB in eight messages, no Content-Length
    )
    assert status == 413
    assert json.loads(body) == TOO_LARGE
    assert headers["x-request-id"]
    assert _state() == before


@pytest.mark.django_db(transaction=True)
def test_an_announced_body_over_the_limit_is_refused_before_it_is_read(asgi_app: Any) -> None:
    status, _headers, body = _asgi(
        asgi_app,
        "POST",
        "/api/register/",
        headers={"Content-Length": str(10 * 1024 * 1024), "Content-Type": "application/json"},
        chunks=[b"{}"],
    )
    assert (status, json.loads(body)) == (413, TOO_LARGE)


@pytest.mark.django_db(transaction=True)
def test_the_catalog_edge_cache_refuses_a_host_django_would_refuse(asgi_app: Any) -> None:
    new_product(stock=1)
    for _ in range(2):  # the second would be an edge-cache hit for a good Host
        assert _asgi(asgi_app, "GET", "/api/products/")[0] == 200
    status, _headers, body = _asgi(
        asgi_app, "GET", "/api/products/", headers={"Host": "evil.example"}
    )
    assert status == 400
    assert json.loads(body) == {
        "detail": "The Host header is not one this server answers to.",
        "code": "bad_host",
    }


@pytest.mark.django_db(transaction=True)
def test_edge_cache_answers_carry_cors_headers_for_the_requests_own_origin(
    asgi_app: Any, front_end_allowed: Any
) -> None:
    new_product(stock=1)
    _status, first, _ = _asgi(asgi_app, "GET", "/api/products/", headers={"Origin": FRONT_END})
    assert first["access-control-allow-origin"] == FRONT_END
    _status, other, _ = _asgi(
        asgi_app, "GET", "/api/products/", headers={"Origin": "http://evil.example"}
    )
    assert "access-control-allow-origin" not in other
    _status, again, _ = _asgi(asgi_app, "GET", "/api/products/", headers={"Origin": FRONT_END})
    assert again["access-control-allow-origin"] == FRONT_END
    assert "Origin" in again["vary"]


@pytest.mark.django_db(transaction=True)
def test_each_request_logs_one_line_with_its_id_route_status_and_user(
    asgi_app: Any, customer: Any, customer_api: ApiClient, capsys: pytest.CaptureFixture[str]
) -> None:
    product = new_product(stock=2)
    order = json.dumps({"items": [{"product_id": product.pk, "quantity": 1}]}).encode()
    capsys.readouterr()
    status, headers, _ = _asgi(
        asgi_app,
        "POST",
        "/api/orders",
        headers={
            "Authorization": f"Bearer {customer_api.token}",
            "Content-Type": "application/json",
            "X-Request-ID": "req-42",
        },
        chunks=[order],
    )
    assert (status, headers["x-request-id"]) == (201, "req-42")
    lines = [line for line in capsys.readouterr().err.splitlines() if line.endswith("id=req-42")]
    assert len(lines) == 1
    method, path, route, code, duration, user, request_id = lines[0].split(" ")
    assert (method, path, route, code, user, request_id) == (
        "POST",
        "/api/orders",
        "api/orders/",
        "201",
        f"user={customer.pk}",
        "id=req-42",
    )
    assert float(duration.removesuffix("ms")) > 0


def test_the_json_request_line_has_every_field_and_escapes_the_path(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from web.edges import RequestLog

    RequestLog(enabled=True, json_lines=True).write(
        "r1", "GET", "/api/x\nforged", "<unmatched>", 404, 0.0123, None
    )
    (line,) = capsys.readouterr().err.splitlines()
    entry = json.loads(line)
    assert {k: v for k, v in entry.items() if k not in ("time", "message")} == {
        "level": "INFO",
        "logger": "shop.request",
        "request_id": "r1",
        "method": "GET",
        "path": "/api/x\\nforged",
        "route": "<unmatched>",
        "status": 404,
        "duration_ms": 12.3,
        "user_id": None,
    }
    assert entry["time"].endswith("Z")


def test_the_json_log_format_writes_one_object_per_line() -> None:
    from config.logging import JsonFormatter

    record = logging.makeLogRecord(
        {"name": "config.api", "levelname": "WARNING", "msg": "db down", "request_id": "r1"}
    )
    parsed = json.loads(JsonFormatter().format(record))
    assert (parsed["message"], parsed["request_id"], parsed["level"]) == (
        "db down",
        "r1",
        "WARNING",
    )


@pytest.mark.django_db(transaction=True)
def test_an_unexpected_error_answers_500_with_the_request_id(
    asgi_app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A bug stands in for one: the catalog selector raises what no handler expects.
    from catalog import selectors

    def broken(**_kwargs: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(selectors, "product_list", broken)
    status, headers, body = _asgi(
        asgi_app, "GET", "/api/products/", headers={"X-Request-ID": "quote-me"}, query="x=1"
    )
    assert status == 500
    assert json.loads(body) == {
        "detail": "Internal server error.",
        "code": "server_error",
        "request_id": "quote-me",
    }
    assert headers["x-request-id"] == "quote-me"


def test_edges_pass_websockets_through_untouched() -> None:
    seen: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope["type"])

    async def receive() -> dict[str, Any]:
        raise AssertionError("not read")

    async def send(message: Any) -> None:
        raise AssertionError("not sent")

    async_to_sync(Edges(app))({"type": "websocket", "path": "/ws/orders/"}, receive, send)
    assert seen == ["websocket"]


@pytest.mark.django_db
def test_with_ssl_redirect_on_the_api_says_https_instead_of_redirecting() -> None:
    with override_settings(SECURE_SSL_REDIRECT=True):
        api = Client().post("/api/orders/", "{}", content_type="application/json")
        health = Client().get("/healthz")
        admin = Client().get("/admin/")
    assert api.status_code == 403
    assert api.json() == {
        "detail": "This API is served over HTTPS only: https://testserver/api/orders/",
        "code": "https_required",
    }
    assert health.status_code == 200  # load balancers probe over plain HTTP
    assert (admin.status_code, admin["Location"]) == (301, "https://testserver/admin/")
