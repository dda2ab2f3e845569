"""Schema pieces every router shares: the error body, database ids and money amounts."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from ninja import Schema
from pydantic import Field, WithJsonSchema, field_validator, model_validator

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


def errors(*statuses: int) -> dict[int, type[ErrorOut]]:
    """Document the error statuses an operation can answer with."""
    return dict.fromkeys(statuses, ErrorOut)


# Output amounts (prices, totals): always rendered as a decimal string.
DecimalString = Annotated[
    Decimal, WithJsonSchema({"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]+)?$"})
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
