"""Ninja schemas for categories and products."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from ninja import Schema
from pydantic import ConfigDict, Field, StrictBool, model_validator
from pydantic_core import PydanticCustomError

from common.schemas import CleanStrings, DbId, DecimalString, InputSchema, Money, PositiveMoney

from .models import MAX_STOCK, StockMovementKind


class CategoryOut(Schema):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"id": 1, "name": "Lamps", "slug": "lamps"}]}
    )

    id: int
    name: str
    slug: str


class CategoryIn(InputSchema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"name": "Lamps", "slug": "lamps"}, {"name": "Desk organisers"}]
        }
    )

    name: str = Field(min_length=1, max_length=120)
    slug: str | None = Field(default=None, min_length=1, max_length=140, pattern=r"^[-a-z0-9_]+$")


class CategoryPatch(InputSchema):
    model_config = ConfigDict(json_schema_extra={"examples": [{"name": "Lighting"}]})

    name: str | None = Field(default=None, min_length=1, max_length=120)
    slug: str | None = Field(default=None, min_length=1, max_length=140, pattern=r"^[-a-z0-9_]+$")


class CategoryRef(Schema):
    id: int
    name: str


class ProductOut(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 42,
                    "name": "Brass desk lamp",
                    "slug": "brass-desk-lamp",
                    "description": "Warm light, adjustable arm.",
                    "price": "24.90",
                    "stock": 12,
                    "is_active": True,
                    "category": {"id": 1, "name": "Lamps"},
                    "version": 3,
                    "created_at": "2026-03-14T09:26:53Z",
                    "updated_at": "2026-03-14T09:26:53Z",
                }
            ]
        }
    )

    id: int
    name: str
    slug: str
    description: str
    price: DecimalString
    stock: int
    is_active: bool
    category: CategoryRef
    version: int = Field(description="Changes with every edit of the product (not with sales).")
    created_at: datetime
    updated_at: datetime


class ProductIn(InputSchema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "Brass desk lamp",
                    "description": "Warm light, adjustable arm.",
                    "price": "24.90",
                    "stock": 12,
                    "category_id": 1,
                    "is_active": True,
                }
            ]
        }
    )

    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=10_000)
    price: PositiveMoney
    stock: int = Field(
        ge=0,
        le=MAX_STOCK,
        description="Opening stock; later changes go through POST /api/products/{id}/stock/.",
    )
    category_id: DbId
    is_active: StrictBool = True


class _NoStock(InputSchema):
    """Edits never carry stock: a value read before concurrent sales would undo them."""

    @model_validator(mode="before")
    @classmethod
    def _refuse_stock(cls, data: Any) -> Any:
        body = getattr(data, "_obj", data)
        if isinstance(body, dict) and "stock" in body:
            raise PydanticCustomError(
                "stock_read_only",
                "stock cannot be edited here: use POST /api/products/{id}/stock/ with "
                '{"delta": n, "reason": "..."} or {"set": n, "reason": "..."}',
            )
        return data


class ProductReplace(_NoStock):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "Brass desk lamp",
                    "description": "Warm light, adjustable arm.",
                    "price": "27.50",
                    "category_id": 1,
                    "is_active": True,
                }
            ]
        }
    )

    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=10_000)
    price: PositiveMoney
    category_id: DbId
    is_active: StrictBool = True


class ProductPatch(_NoStock):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"price": "19.99"}, {"is_active": False}]}
    )

    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=10_000)
    price: PositiveMoney | None = None
    category_id: DbId | None = None
    is_active: StrictBool | None = None


class StockChangeIn(InputSchema):
    """Exactly one of `delta` (receive goods: +, write off: -) or `set` (a stock count)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"delta": 20, "reason": "Delivery from the supplier"},
                {"set": 7, "reason": "Stock count"},
            ]
        }
    )

    delta: int | None = Field(default=None, ge=-MAX_STOCK, le=MAX_STOCK)
    set: int | None = Field(default=None, ge=0, le=MAX_STOCK)
    reason: str = Field(min_length=1, max_length=200)

    @model_validator(mode="after")
    def _one_operation(self) -> StockChangeIn:
        if (self.delta is None) == (self.set is None):
            raise PydanticCustomError("one_of_delta_or_set", "send exactly one of 'delta' or 'set'")
        if self.delta == 0:
            raise PydanticCustomError("zero_delta", "'delta' must not be 0")
        return self


class StockMovementOut(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 318,
                    "product_id": 42,
                    "kind": "adjustment",
                    "delta": 20,
                    "stock_after": 32,
                    "reason": "Delivery from the supplier",
                    "order_id": None,
                    "created_by_id": 1,
                    "created_at": "2026-03-14T09:26:53Z",
                }
            ]
        }
    )

    id: int
    product_id: int
    kind: StockMovementKind
    delta: int
    stock_after: int
    reason: str
    order_id: int | None
    created_by_id: int | None
    created_at: datetime


class ProductOrdering(StrEnum):
    price = "price"
    price_desc = "-price"
    name = "name"
    newest = "-created_at"


class ProductFilters(CleanStrings):
    category: DbId | None = None
    min_price: Money | None = None
    max_price: Money | None = None
    in_stock: bool | None = None
    search: str | None = Field(default=None, max_length=200)
    ordering: ProductOrdering = ProductOrdering.newest
