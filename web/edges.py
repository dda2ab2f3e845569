"""The API's contract at its edges: every answer under /api/ is JSON in the one error shape.

Two layers, because some edges are only reachable before Django and others only inside it:

- `Edges` (ASGI, outermost): gives each request an id (`X-Request-ID`, accepted or made),
  refuses bodies over API_MAX_BODY_BYTES with 413 *while they stream in* (Django's ASGI
  handler would otherwise spool a chunked body of any size to disk first), and writes the
  request's log line and metrics once its answer has gone out, the catalog edge cache's
  answers included.
- `ApiEdgeMiddleware` (Django, outermost): refuses a bad Host or an announced oversized body
  as JSON, serves a slashless API path in place (`POST /api/orders` is `POST /api/orders/`;
  Django's APPEND_SLASH would redirect, and clients follow a 301 as a GET), and turns any
  non-JSON error Django produced under /api/ (its HTML 404, 405, 400, 500) into
  `{"detail", "code"}`, keeping the headers (Allow, CORS). It leaves the route template and
  user id in the ASGI scope for the log line.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import sys
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.http.request import split_domain_port, validate_host
from django.urls import is_valid_path

from web import metrics

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[..., Awaitable[None]]

API_PREFIX = "/api/"
JSON = "application/json; charset=utf-8"  # as ninja answers
REQUEST_ID_HEADER = b"x-request-id"
# An id a client sends is kept only if it is short and plain (it lands in logs and headers).
_CLIENT_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

# Keys this module and the catalog edge cache leave in the ASGI scope.
SCOPE_REQUEST_ID = "shop.request_id"
SCOPE_ROUTE = "shop.route"
SCOPE_USER_ID = "shop.user_id"
UNMATCHED_ROUTE = "<unmatched>"

_STATUS_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    429: "throttled",
    500: "server_error",
    503: "service_unavailable",
}


def error_body(status: int, detail: object, code: str, request_id: str | None = None) -> bytes:
    """The one error shape; 5xx answers carry the request id for the user to quote."""
    body: dict[str, object] = {"detail": detail, "code": code}
    if status >= 500 and request_id:
        body["request_id"] = request_id
    return json.dumps(body).encode()


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


# A random prefix per process and a counter: unique across processes, and a tenth of the cost
# of uuid4() on the hot path (an id names a request in logs; it is no secret).
_ID_PREFIX = os.urandom(8).hex()
_id_counter = itertools.count(1)


def new_request_id() -> str:
    return f"{_ID_PREFIX}{next(_id_counter):08x}"


def _request_id_from(raw: bytes | str | None) -> str:
    if raw:
        text = raw.decode("latin-1") if isinstance(raw, bytes) else raw
        if _CLIENT_REQUEST_ID.match(text):
            return text
    return new_request_id()


# ---- Host check shared by Django's path and the catalog edge cache ---------------------------

_good_hosts: set[bytes] = set()


@receiver(setting_changed)
def _forget_good_hosts(*, setting: str, **_kwargs: Any) -> None:
    if setting in ("ALLOWED_HOSTS", "DEBUG"):  # override_settings in tests
        _good_hosts.clear()


def _allowed_hosts() -> list[str]:
    # As HttpRequest.get_host: with DEBUG on and no ALLOWED_HOSTS, local names are allowed.
    if settings.DEBUG and not settings.ALLOWED_HOSTS:
        return [".localhost", "127.0.0.1", "[::1]"]
    return list(settings.ALLOWED_HOSTS)


def host_allowed(scope: Scope) -> bool:
    """Django's ALLOWED_HOSTS check on an ASGI scope (the Host header, else the server name)."""
    raw = _header(scope, b"host")
    if raw is None:
        server = scope.get("server")
        if not server:
            return False
        raw = f"{server[0]}:{server[1]}".encode()
    if raw in _good_hosts:
        return True
    domain, _port = split_domain_port(raw.decode("latin-1"))
    if not domain or not validate_host(domain, _allowed_hosts()):
        return False
    if len(_good_hosts) < 64:  # only names that passed, so the set cannot be flooded
        _good_hosts.add(raw)
    return True


# ---- CORS for answers made outside Django (the catalog edge cache) ---------------------------


def cors_headers(origin: bytes | None) -> list[tuple[bytes, bytes]]:
    """What django-cors-headers adds to a simple (non-preflight) answer for this Origin."""
    if not origin or origin.decode("latin-1") not in settings.CORS_ALLOWED_ORIGINS:
        return []
    headers = [(b"access-control-allow-origin", origin)]
    if settings.CORS_EXPOSE_HEADERS:
        exposed = ", ".join(settings.CORS_EXPOSE_HEADERS).encode()
        headers.append((b"access-control-expose-headers", exposed))
    return headers


# ---- ASGI layer ------------------------------------------------------------------------------


class Edges:
    def __init__(self, app: ASGIApp):
        self.app = app
        self.max_body = int(settings.API_MAX_BODY_BYTES)
        self.request_log = RequestLog(
            enabled=settings.REQUEST_LOG, json_lines=settings.LOG_FORMAT == "json"
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        # One pass over the headers for the three this layer reads.
        given_id = length = chunked = None
        for key, value in scope["headers"]:
            if key == REQUEST_ID_HEADER:
                given_id = value
            elif key == b"content-length":
                length = value
            elif key == b"transfer-encoding":
                chunked = value
        request_id = _request_id_from(given_id)
        scope[SCOPE_REQUEST_ID] = request_id
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                # Only this layer sets the header under ASGI (ApiEdgeMiddleware sees our id).
                headers = [*message.get("headers", ()), (REQUEST_ID_HEADER, request_id.encode())]
                message = {**message, "headers": headers}
            await send(message)

        try:
            if length is not None and self._too_large(length):
                await self._refuse_too_large(send_with_id, request_id)
            elif chunked is not None:
                # Only a chunked body can outgrow what it announced: the server frames others
                # by their Content-Length, and a request with neither header has no body.
                limited = self._limited(receive, send_with_id, request_id)
                await self.app(scope, limited, send_with_id)
            else:
                await self.app(scope, receive, send_with_id)
        finally:
            self._record(scope, status, time.perf_counter() - started, request_id)

    def _too_large(self, length: bytes) -> bool:
        try:
            return int(length) > self.max_body
        except ValueError:
            return False  # h11/httptools refuse a malformed Content-Length before we see it

    def _limited(self, receive: Receive, send: Send, request_id: str) -> Receive:
        """`receive` that answers 413 and ends the request once the body passes the limit."""
        received = 0
        refused = False

        async def limited() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    refused = True
                    await self._refuse_too_large(send, request_id)
                    # Django's handler stops reading and answers nothing after a disconnect.
                    return {"type": "http.disconnect"}
            return message

        return limited

    async def _refuse_too_large(self, send: Send, request_id: str) -> None:
        body = error_body(
            413,
            f"The request body is larger than the limit of {self.max_body} bytes.",
            "payload_too_large",
        )
        headers = [
            (b"content-type", JSON.encode()),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _record(self, scope: Scope, status: int, seconds: float, request_id: str) -> None:
        route = scope.get(SCOPE_ROUTE) or UNMATCHED_ROUTE
        metrics.observe_request(route, scope["method"], status, seconds)
        if self.request_log.enabled:
            self.request_log.write(
                request_id,
                scope["method"],
                scope["path"],
                route,
                status,
                seconds,
                scope.get(SCOPE_USER_ID),
            )


class RequestLog:
    """The request's line on stderr, written directly rather than through `logging`.

    A `logging` call costs about 12 us here (its LogRecord gathers the time, thread, process
    and caller); this layer's whole budget on the warm catalog path (about 250 us a request
    under uvicorn) is 5%, so the line is formatted and written in 2-3 us instead. It is still
    one line per request on the process's stderr, in the same text or JSON shape as the
    other log lines (LOG_FORMAT), with `"logger": "shop.request"` in JSON.
    """

    def __init__(self, *, enabled: bool, json_lines: bool):
        self.enabled = enabled
        self.json_lines = json_lines

    def write(
        self,
        request_id: str,
        method: str,
        path: str,
        route: str,
        status: int,
        seconds: float,
        user_id: int | None,
    ) -> None:
        if not path.isprintable():  # a %0A in the URL must not start a forged log line
            path = path.encode("unicode_escape").decode("ascii")
        message = (
            f"{method} {path} {route} {status} {seconds * 1000:.1f}ms "
            f"user={user_id} id={request_id}"
        )
        if self.json_lines:
            now = time.time()
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now))
            message = json.dumps(
                {
                    "time": f"{stamp}.{int(now % 1 * 1000):03d}Z",
                    "level": "INFO",
                    "logger": "shop.request",
                    "message": message,
                    "request_id": request_id,
                    "method": method,
                    "path": path,
                    "route": route,
                    "status": status,
                    "duration_ms": round(seconds * 1000, 2),
                    "user_id": user_id,
                }
            )
        sys.stderr.write(message + "\n")


# ---- Django middleware -----------------------------------------------------------------------


def json_error(
    status: int, detail: object, code: str, request: HttpRequest | None = None
) -> HttpResponse:
    request_id = getattr(request, "request_id", None) if request is not None else None
    body = error_body(status, detail, code, request_id)
    response = HttpResponse(body, status=status, content_type=JSON)
    response["Content-Length"] = str(len(body))  # answered outside CommonMiddleware
    return response


class ApiEdgeMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]):
        self.get_response = get_response
        self.max_body = int(settings.API_MAX_BODY_BYTES)

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        scope = getattr(request, "scope", None)
        behind_edges = scope is not None and SCOPE_REQUEST_ID in scope
        if behind_edges:
            request.request_id = scope[SCOPE_REQUEST_ID]  # type: ignore[attr-defined,index]
        else:  # the test client, or another ASGI/WSGI server in front
            request.request_id = _request_id_from(request.META.get("HTTP_X_REQUEST_ID"))  # type: ignore[attr-defined]
        if request.path_info.startswith(API_PREFIX):
            response = self._refusal(request) or self._answer(request)
        else:
            response = self.get_response(request)
        if behind_edges:  # for the request's log line and metrics, written by Edges
            match = request.resolver_match
            scope[SCOPE_ROUTE] = match.route if match is not None else UNMATCHED_ROUTE  # type: ignore[index]
            scope[SCOPE_USER_ID] = _user_id(request)  # type: ignore[index]
        else:
            response.headers["X-Request-ID"] = request.request_id  # type: ignore[attr-defined]
        return response

    def _refusal(self, request: HttpRequest) -> HttpResponse | None:
        try:
            request.get_host()
        except DisallowedHost:
            return json_error(400, "The Host header is not one this server answers to.", "bad_host")
        try:
            announced = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return json_error(400, "The Content-Length header is not a number.", "bad_request")
        if announced > self.max_body:
            return json_error(
                413,
                f"The request body is larger than the limit of {self.max_body} bytes.",
                "payload_too_large",
            )
        return None

    def _answer(self, request: HttpRequest) -> HttpResponseBase:
        if not request.path_info.endswith("/"):
            self._serve_with_slash(request)
        response = self.get_response(request)
        if response.status_code >= 400 and not _is_json(response):
            return self._as_json(request, response)
        if response.status_code == 200 and "access-control-request-method" in request.headers:
            # django-cors-headers answers a preflight 200 with an empty text/html body: say
            # "no content" instead, so every API answer with a body is JSON.
            response.status_code = 204
            del response["Content-Type"]
            return response
        if response.status_code == 301 and response.headers.get("Location", "").startswith(
            "https://"
        ):
            # SECURE_SSL_REDIRECT: a client would follow it as a GET (and has already sent its
            # token in the clear); say where the API is instead.
            return json_error(
                403,
                f"This API is served over HTTPS only: {response['Location']}",
                "https_required",
                request,
            )
        return response

    def _serve_with_slash(self, request: HttpRequest) -> None:
        urlconf = getattr(request, "urlconf", None)
        if not is_valid_path(request.path_info, urlconf) and is_valid_path(
            request.path_info + "/", urlconf
        ):
            request.path_info += "/"
            request.path += "/"

    def _as_json(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponse:
        status = response.status_code
        code = _STATUS_CODES.get(status, "error")
        detail: str
        if status == 404:
            detail = f"There is no API endpoint at {request.path}."
        elif status == 405:
            # ninja builds Allow from a set: sorted, the answer is the same on every process.
            methods = (m.strip() for m in response.headers.get("Allow", "").split(","))
            allowed = ", ".join(sorted(m for m in methods if m))
            response.headers["Allow"] = allowed
            detail = f"{request.method} is not allowed on {request.path}; allowed: {allowed}."
        elif status >= 500:
            detail = "Internal server error."
        else:
            detail = getattr(response, "reason_phrase", "") or "Error."
        answer = json_error(status, detail, code, request)
        for name, value in response.headers.items():
            if name.lower() not in ("content-type", "content-length", "transfer-encoding"):
                answer.headers[name] = value
        return answer


def _is_json(response: HttpResponseBase) -> bool:
    return response.headers.get("Content-Type", "").startswith("application/json")


def _user_id(request: HttpRequest) -> int | None:
    # ninja's JWT auth leaves the user in request.auth; a session user only if already loaded
    # (reading request.user would query the session for every API request).
    user = getattr(request, "auth", None) or request.__dict__.get("_cached_user")
    pk = getattr(user, "pk", None)
    return pk if isinstance(pk, int) else None
