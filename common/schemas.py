"""Schema pieces every router shares: the error body, database ids and money amounts."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any, Literal

from ninja import Schema
from pydantic import Field, WithJsonSchema, create_model, field_validator, model_validator

from common.errors import codes_for

# Primary keys are 64-bit; a larger number must be a 422, not a database overflow.
MAX_ID = 2**63 - 1
DbId = Annotated[int, Field(ge=1, le=MAX_ID)]

_MONEY_PATTERN = r"^[0-9]{1,8}(\.[0-9]{1,2})?$"
_POSITIVE_MONEY_PATTERN = r"^(?!0*(\.0*)?$)[0-9]{1,8}(\.[0-9]{1,2})?$"

# Money travels as a decimal string ("24.90"); numbers are accepted too but not advertised,
# because a JSON number cannot promise two decimal places.
Money = Annotated[
    Decimal,
    Field(ge=0, max_digits=10, decimal_places=2),
    WithJsonSchema({"type": "string", "pattern": _MONEY_PATTERN, "examples": ["24.90"]}),
]
PositiveMoney = Annotated[
    Decimal,
    Field(gt=0, max_digits=10, decimal_places=2),
    WithJsonSchema({"type": "string", "pattern": _POSITIVE_MONEY_PATTERN, "examples": ["24.90"]}),
]


class ErrorOut(Schema):
    """Every refusal: `detail` is a message, or for 422 a list of {loc, msg, type}."""

    detail: Any
    code: str


class ValidationProblem(Schema):
    """One reason a request was refused with 422: where (`loc`), what (`msg`), which rule."""

    loc: list[str | int] = Field(
        description="Where: e.g. ['body', 'payload', 'price'], ['query', 'page'].",
        examples=[["body", "payload", "price"]],
    )
    msg: str = Field(examples=["Input should be greater than 0"])
    type: str = Field(description="The rule refused, e.g. `greater_than`, `missing`.")


def _error_schema(name: str, status: int, doc: str) -> type[Schema]:
    """The body of one error status: its `code` is one of the codes the API answers it with."""
    codes = codes_for(status)
    enum: dict[str, Any] = {"enum": codes}
    code_type: Any = Literal[tuple(codes)]  # type: ignore[valid-type]
    detail: Any = (list[ValidationProblem], ...) if status == 422 else (str, ...)
    return create_model(
        name,
        __base__=Schema,
        __doc__=doc,
        detail=detail,
        # `enum` even for a single code (pydantic says `const`): clients read one key.
        code=(code_type, Field(examples=[codes[-1]], json_schema_extra=enum)),
    )


# One named schema per status, so a front end can switch on `code` with the full list at hand.
ERROR_SCHEMAS: dict[int, type[Schema]] = {
    400: _error_schema("BadRequestError", 400, "The request cannot be understood or is refused."),
    401: _error_schema("NotAuthenticatedError", 401, "No valid credentials (or token) sent."),
    403: _error_schema("PermissionDeniedError", 403, "The caller may not do this."),
    404: _error_schema("NotFoundError", 404, "No such resource (or not the caller's)."),
    409: _error_schema("ConflictError", 409, "The current state of the data refuses it."),
    412: _error_schema("PreconditionFailedError", 412, "The `If-Match` no longer matches."),
    422: _error_schema(
        "ValidationFailedError", 422, "The input is refused: every problem with where it is."
    ),
    429: _error_schema("ThrottledError", 429, "Too many requests: retry after `Retry-After`."),
    503: _error_schema(
        "ServiceUnavailableError", 503, "Temporarily unavailable: retry after `Retry-After`."
    ),
}


def errors(*statuses: int) -> dict[int, type[Schema]]:
    """Document the error statuses an operation can answer with."""
    return {status: ERROR_SCHEMAS.get(status, ErrorOut) for status in statuses}


# Response headers, as the OpenAPI schema documents them.
REQUEST_ID_HEADER = {
    "description": "The request's id (the client's own `X-Request-ID` if it sent a sane one): "
    "quote it when reporting a problem; a 500's body carries it too.",
    "schema": {"type": "string"},
}
RETRY_AFTER_HEADER = {
    "description": "How many seconds to wait before retrying.",
    "schema": {"type": "integer", "minimum": 1},
}
ETAG_HEADER = {
    "description": 'The product\'s version, e.g. `"v3"`: send it back as `If-Match` to edit.',
    "schema": {"type": "string", "examples": ['"v3"']},
}
IDEMPOTENT_REPLAYED_HEADER = {
    "description": "`true` when the answer is the order first placed with this "
    "`Idempotency-Key` (a retry), not a new one.",
    "schema": {"type": "string", "enum": ["true"]},
}


def response_headers(headers: dict[str, dict[str, Any]], *statuses: int) -> dict[str, Any]:
    """`openapi_extra` documenting response headers of an operation's given statuses."""
    return {"responses": {status: {"headers": dict(headers)} for status in statuses}}


def described_error_codes(description: str) -> dict[int, list[str]]:
    """{status: codes} read from an operation description's last sentence, which by convention
    lists them: "Errors: 400 `bad_request`, 409 `slug_taken` or `category_exists`, ..."."""
    listed: dict[int, list[str]] = {}
    status = None
    _, found, errors_part = description.rpartition("Errors:")
    for number, code in re.findall(r"\b([1-5]\d\d)\b|`([a-z_]+)`", errors_part if found else ""):
        if number:
            status = int(number)
            listed.setdefault(status, [])
        elif status is not None and code not in listed[status]:
            listed[status].append(code)
    return listed


def document_error_codes(schema: dict[str, Any]) -> None:
    """Narrow each error response's `code` to the codes its operation's description lists, so
    the description a person reads and the enum a client generates from are one text."""
    for operations in schema["paths"].values():
        for operation in operations.values():
            described = described_error_codes(operation.get("description", ""))
            for status, response in operation["responses"].items():
                codes = described.get(int(status))
                content = response.get("content", {}).get("application/json")
                if not codes or content is None or int(status) < 400:
                    continue
                content["schema"] = {
                    "allOf": [content["schema"]],
                    "properties": {"code": {"enum": codes}},
                }


def document_common_headers(schema: dict[str, Any]) -> None:
    """Every answer carries `X-Request-ID`; every 429 and 503 a `Retry-After`."""
    for operations in schema["paths"].values():
        for operation in operations.values():
            for status, response in operation["responses"].items():
                headers = response["headers"] = dict(response.get("headers", {}))
                headers.setdefault("X-Request-ID", REQUEST_ID_HEADER)
                if int(status) in (429, 503):
                    headers.setdefault("Retry-After", RETRY_AFTER_HEADER)


# Output amounts (prices, totals): always rendered as a decimal string.
DecimalString = Annotated[
    Decimal,
    WithJsonSchema({"type": "string", "pattern": r"^[0-9]+(\.[0-9]+)?$", "examples": ["24.90"]}),
]


# Public operations that also accept a token (staff then see inactive products). Ninja lists
# the operation's own scheme (BearerAuth) and appends this alternative, "no authentication":
# `"security": [{"BearerAuth": []}, {}]`.
OPTIONAL_AUTH: dict[str, Any] = {"security": [{}]}


class CleanStrings(Schema):
    """Refuses NUL characters in every string field: PostgreSQL text cannot store them."""

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("Null characters are not allowed.")
        return value


class InputSchema(CleanStrings):
    """Base of every request body: it must be a JSON object.

    Ninja's Schema reads attributes from whatever it is given, so without this a body of
    `[1, 2]` or `"x"` would validate as "every field left at its default".
    """

    @model_validator(mode="before")
    @classmethod
    def _require_object(cls, data: Any) -> Any:
        # Ninja hands validators its DjangoGetter wrapper; the parsed JSON is its `_obj`.
        if not isinstance(getattr(data, "_obj", data), dict):
            raise ValueError("The request body must be a JSON object.")
        return data
