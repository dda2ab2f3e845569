"""Every error the API answers: the domain error types services raise, and the catalogue of
error codes (per app) with the HTTP status each is answered with.

`config.api` maps a `DomainError` to HTTP once; `common.schemas` lists the codes of each status
in the OpenAPI schema, so a front end can switch on `code`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class CommonCode(StrEnum):
    """Codes the API layer answers for any operation (parsing, auth, limits, failures)."""

    BAD_REQUEST = "bad_request"
    TOO_MANY_FIELDS = "too_many_fields"
    INVALID = "invalid"
    NOT_AUTHENTICATED = "not_authenticated"
    PERMISSION_DENIED = "permission_denied"
    STAFF_ONLY = "staff_only"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    CONFLICT = "conflict"
    PRECONDITION_FAILED = "precondition_failed"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    VALIDATION_ERROR = "validation_error"
    THROTTLED = "throttled"
    SERVER_ERROR = "server_error"
    SERVICE_UNAVAILABLE = "service_unavailable"


class AccountsCode(StrEnum):
    WRONG_PASSWORD = "wrong_password"
    INVALID_CREDENTIALS = "invalid_credentials"
    TOKEN_INVALID = "token_invalid"
    TOKEN_REVOKED = "token_revoked"
    SESSION_EXPIRED = "session_expired"
    TOKEN_REUSED = "token_reused"
    USERNAME_TAKEN = "username_taken"
    EMAIL_TAKEN = "email_taken"
    USER_EXISTS = "user_exists"
    RETRY = "retry"


class CatalogCode(StrEnum):
    UNKNOWN_CATEGORY = "unknown_category"
    PRODUCT_UNAVAILABLE = "product_unavailable"
    CATEGORY_NOT_FOUND = "category_not_found"
    PRODUCT_NOT_FOUND = "product_not_found"
    CATEGORY_EXISTS = "category_exists"
    SLUG_TAKEN = "slug_taken"
    DELETED_MEANWHILE = "deleted_meanwhile"
    CATEGORY_IN_USE = "category_in_use"
    PRODUCT_IN_USE = "product_in_use"
    STOCK_BELOW_ZERO = "stock_below_zero"
    STOCK_ABOVE_LIMIT = "stock_above_limit"
    INSUFFICIENT_STOCK = "insufficient_stock"
    VERSION_MISMATCH = "version_mismatch"


class OrdersCode(StrEnum):
    EMPTY_ORDER = "empty_order"
    ORDER_NOT_FOUND = "order_not_found"
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"
    PRODUCT_REMOVED = "product_removed"
    CATALOG_CHANGED = "catalog_changed"
    INVALID_TRANSITION = "invalid_transition"
    INVALID_QUANTITY = "invalid_quantity"
    ORDER_TOTAL_TOO_LARGE = "order_total_too_large"


class NotificationsCode(StrEnum):
    WEBHOOK_NOT_FOUND = "webhook_not_found"
    DELIVERY_NOT_FOUND = "delivery_not_found"
    WEBHOOK_URL_REFUSED = "webhook_url_refused"
    WEBHOOK_EVENTS_INVALID = "webhook_events_invalid"


_C, _A, _K, _O, _N = CommonCode, AccountsCode, CatalogCode, OrdersCode, NotificationsCode

# The HTTP status each code is answered with: a code never changes status.
CODES_BY_STATUS: dict[int, tuple[StrEnum, ...]] = {
    400: (
        _C.BAD_REQUEST,
        _C.TOO_MANY_FIELDS,
        _C.INVALID,
        _A.WRONG_PASSWORD,
        _K.UNKNOWN_CATEGORY,
        _K.PRODUCT_UNAVAILABLE,
        _O.EMPTY_ORDER,
    ),
    401: (
        _C.NOT_AUTHENTICATED,
        _A.INVALID_CREDENTIALS,
        _A.TOKEN_INVALID,
        _A.TOKEN_REVOKED,
        _A.SESSION_EXPIRED,
        _A.TOKEN_REUSED,
    ),
    403: (_C.PERMISSION_DENIED, _C.STAFF_ONLY),
    404: (
        _C.NOT_FOUND,
        _K.CATEGORY_NOT_FOUND,
        _K.PRODUCT_NOT_FOUND,
        _O.ORDER_NOT_FOUND,
        _N.WEBHOOK_NOT_FOUND,
        _N.DELIVERY_NOT_FOUND,
    ),
    405: (_C.METHOD_NOT_ALLOWED,),
    409: (
        _C.CONFLICT,
        _A.USERNAME_TAKEN,
        _A.EMAIL_TAKEN,
        _A.USER_EXISTS,
        _K.CATEGORY_EXISTS,
        _K.SLUG_TAKEN,
        _K.DELETED_MEANWHILE,
        _K.CATEGORY_IN_USE,
        _K.PRODUCT_IN_USE,
        _K.STOCK_BELOW_ZERO,
        _K.STOCK_ABOVE_LIMIT,
        _K.INSUFFICIENT_STOCK,
        _O.IDEMPOTENCY_KEY_REUSED,
        _O.PRODUCT_REMOVED,
        _O.CATALOG_CHANGED,
        _O.INVALID_TRANSITION,
    ),
    412: (_C.PRECONDITION_FAILED, _K.VERSION_MISMATCH),
    413: (_C.PAYLOAD_TOO_LARGE,),
    422: (
        _C.VALIDATION_ERROR,
        _O.INVALID_QUANTITY,
        _O.ORDER_TOTAL_TOO_LARGE,
        _N.WEBHOOK_URL_REFUSED,
        _N.WEBHOOK_EVENTS_INVALID,
    ),
    429: (_C.THROTTLED,),
    500: (_C.SERVER_ERROR,),
    503: (_C.SERVICE_UNAVAILABLE, _A.RETRY),
}

STATUS_OF_CODE: dict[str, int] = {
    str(code): status for status, codes in CODES_BY_STATUS.items() for code in codes
}


def codes_for(status: int) -> list[str]:
    """The codes the API can answer with this status, in the catalogue's order."""
    return [str(code) for code in CODES_BY_STATUS.get(status, ())]


class DomainError(Exception):
    """A refusal with a stable machine-readable `code`; its class says the HTTP status."""

    status = 400
    code: str = CommonCode.BAD_REQUEST

    def __init__(self, detail: Any, *, code: str | None = None):
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code


class InvalidInput(DomainError):
    status = 400
    code = CommonCode.INVALID


class NotAuthenticated(DomainError):
    status = 401
    code = CommonCode.NOT_AUTHENTICATED


class PermissionDenied(DomainError):
    status = 403
    code = CommonCode.PERMISSION_DENIED


class NotFound(DomainError):
    status = 404
    code = CommonCode.NOT_FOUND


class Conflict(DomainError):
    status = 409
    code = CommonCode.CONFLICT


class PreconditionFailed(DomainError):
    """An `If-Match` that no longer matches: the resource changed since the client read it."""

    status = 412
    code = CommonCode.PRECONDITION_FAILED


class FieldInvalid(InvalidInput):
    """Input the schema accepted but a domain rule refuses, said as the schema's 422s are:
    a list of `{loc, msg, type}`, so a client handles every 422 alike."""

    status = 422
    code = CommonCode.VALIDATION_ERROR

    def __init__(
        self, field: str, messages: str | list[str], *, code: str | None = None, kind: str = ""
    ):
        messages = [messages] if isinstance(messages, str) else messages
        kind = kind or code or self.code
        problems = [{"loc": ["body", field], "msg": m, "type": kind} for m in messages]
        super().__init__(problems, code=code)


class Throttled(DomainError):
    status = 429
    code = CommonCode.THROTTLED

    def __init__(self, retry_after: float):
        super().__init__("Too many requests.")
        self.retry_after = retry_after


class ServiceUnavailable(DomainError):
    """A transient failure the client may retry after `retry_after` seconds."""

    status = 503
    code = CommonCode.SERVICE_UNAVAILABLE

    def __init__(self, detail: str, *, code: str | None = None, retry_after: float = 1):
        super().__init__(detail, code=code)
        self.retry_after = retry_after
