"""Ninja schemas for categories and products."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from ninja import Schema
from pydantic import Field, StrictBool

from config.schemas import CleanStrings, DbId, DecimalString, InputSchema, Money, PositiveMoney

MAX_STOCK = 1_000_000


class CategoryOut(Schema):
    id: int
    name: str
    slug: str


class CategoryIn(InputSchema):
    name: str = Field(min_length=1, max_length=120)
    slug: str | None = Field(default=None, min_length=1, max_length=140, pattern=r"^[-a-z0-9_]+$")


class CategoryPatch(InputSchema):
    name: str | None = Field(default=None, min_length=1, max_length=120)
    slug: str | None = Field(default=None, min_length=1, max_length=140, pattern=r"^[-a-z0-9_]+$")


class CategoryRef(Schema):
    id: int
    name: str


class ProductOut(Schema):
    id: int
    name: str
    slug: str
    description: str
    price: DecimalString
    stock: int
    is_active: bool
    category: CategoryRef
    created_at: datetime
    updated_at: datetime


class ProductIn(InputSchema):
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=10_000)
    price: PositiveMoney
    stock: int = Field(ge=0, le=MAX_STOCK)
    category_id: DbId
    is_active: StrictBool = True


class ProductPatch(InputSchema):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=10_000)
    price: PositiveMoney | None = None
    stock: int | None = Field(default=None, ge=0, le=MAX_STOCK)
    category_id: DbId | None = None
    is_active: StrictBool | None = None


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
