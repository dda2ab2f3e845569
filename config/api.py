"""The one NinjaAPI: routers registered by path, and every error mapped once to {detail, code}."""

from __future__ import annotations

import logging
import math
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation, TooManyFieldsSent
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.openapi.schema import OpenAPISchema

from common.errors import DomainError
from common.schemas import document_common_headers, document_error_codes

logger = logging.getLogger(__name__)


class ShopAPI(NinjaAPI):
    """The NinjaAPI whose schema also documents the headers every answer carries and, per
    operation, the error codes it can answer (from its description)."""

    def get_openapi_schema(
        self, *, path_prefix: str | None = None, path_params: dict[str, Any] | None = None
    ) -> OpenAPISchema:
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        document_common_headers(schema)
        document_error_codes(schema)
        return schema


api = ShopAPI(
    title="Shop API",
    version="1.0.0",
    description=(
        "E-commerce backend: JWT auth, a cached catalog, orders that never oversell and live "
        "order-status notifications (WebSocket `ws/orders/`). Authenticate with "
        "`Authorization: Bearer <access>` from `POST /api/token/`."
    ),
    urls_namespace="api",
    openapi_extra={
        "tags": [
            {
                "name": "accounts",
                "description": "Registration, signing in and out (JWT access and refresh tokens, "
                "rotated on refresh), password changes and the caller's account.",
            },
            {
                "name": "catalog",
                "description": "Categories and products: anyone reads (staff also see inactive "
                "products), staff write. Product edits are conditional on the `ETag`; stock "
                "changes go through the stock ledger.",
            },
            {
                "name": "orders",
                "description": "Checkout (idempotent with `Idempotency-Key`, never oversells), "
                "the caller's orders, staff status changes and the owner's cancel.",
            },
            {
                "name": "notifications",
                "description": "The caller's order events (the catch-up feed of the WebSocket "
                "`ws/orders/`) and, for staff, deliveries that used up their attempts.",
            },
            {
                "name": "webhooks",
                "description": "Staff register endpoints that receive order events as signed "
                "(Standard Webhooks) POSTs, and inspect or retry their deliveries.",
            },
        ]
    },
)

# Each resource's router at its own prefix (the catalog edge cache serves the catalog's two);
# accounts' endpoints (register, token, password, me) are the API's own top level.
api.add_router("/", "accounts.api.router")
api.add_router("/categories/", "catalog.api.categories")
api.add_router("/products/", "catalog.api.products")
api.add_router("/orders/", "orders.api.router")
api.add_router("/notifications/", "notifications.api.notifications_router")
api.add_router("/webhooks/", "notifications.api.webhooks_router")


def _error(request: HttpRequest, status: int, detail: object, code: str) -> HttpResponse:
    body = {"detail": detail, "code": code}
    if status >= 500:  # so a user can quote it, and we can find the log line
        body["request_id"] = getattr(request, "request_id", None)
    return api.create_response(request, body, status=status)


@api.exception_handler(DomainError)
def on_domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    response = _error(request, exc.status, exc.detail, exc.code)
    retry_after = getattr(exc, "retry_after", None)
    if retry_after is not None:  # integer delta-seconds (RFC 9110)
        response["Retry-After"] = str(math.ceil(retry_after))
    return response


@api.exception_handler(ValidationError)
def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    problems = [{k: v for k, v in e.items() if k in ("type", "loc", "msg")} for e in exc.errors]
    return _error(request, 422, problems, "validation_error")


@api.exception_handler(AuthenticationError)
def on_authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return _error(
        request, 401, "Authentication credentials were not provided.", "not_authenticated"
    )


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    codes = {400: "bad_request", 405: "method_not_allowed", 429: "throttled"}
    return _error(request, exc.status_code, str(exc), codes.get(exc.status_code, "error"))


@api.exception_handler(Http404)
def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return _error(request, 404, "Not found.", "not_found")


@api.exception_handler(DjangoValidationError)
def on_django_validation_error(request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
    problems = [{"loc": [], "msg": message, "type": "invalid"} for message in exc.messages]
    return _error(request, 422, problems, "validation_error")


@api.exception_handler(SuspiciousOperation)
def on_suspicious_operation(request: HttpRequest, exc: SuspiciousOperation) -> HttpResponse:
    # Django's request-size guards raise these when a view reads the body or the query.
    if isinstance(exc, RequestDataTooBig):
        limit = settings.API_MAX_BODY_BYTES
        detail = f"The request body is larger than the limit of {limit} bytes."
        return _error(request, 413, detail, "payload_too_large")
    if isinstance(exc, TooManyFieldsSent):
        limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
        return _error(request, 400, f"More than {limit} parameters were sent.", "too_many_fields")
    logging.getLogger(f"django.security.{type(exc).__name__}").warning("%s", exc)
    return _error(request, 400, "The request was refused as malformed.", "bad_request")


@api.exception_handler(OperationalError)
@api.exception_handler(InterfaceError)
def on_database_unavailable(request: HttpRequest, exc: Exception) -> HttpResponse:
    # The pool could not hand out a working connection in DB_POOL_TIMEOUT (the database is
    # down, restarting or out of connections): a prompt 503 the client may retry, not a 500.
    logger.warning("database unavailable on %s %s: %s", request.method, request.path, exc)
    response = _error(
        request, 503, "The database is unavailable; please retry shortly.", "service_unavailable"
    )
    response["Retry-After"] = str(settings.DB_UNAVAILABLE_RETRY_AFTER)
    return response


@api.exception_handler(Exception)
def on_unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    # A bug, not bad input: log it with its traceback and answer in the API's shape.
    logger.exception("unhandled error on %s %s", request.method, request.path)
    return _error(request, 500, "Internal server error.", "server_error")
