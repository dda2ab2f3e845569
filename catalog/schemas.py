"""Ninja schemas for categories and products."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from ninja import Schema
from pydantic import Field

MAX_STOCK = 1_000_000
Price = Field(gt=0, max_digits=10, decimal_places=2)


class CategoryOut(Schema):
    id: int
    name: str
    slug: str


class CategoryIn(Schema):
    name: str = Field(min_length=1, max_length=120)
    slug: str | None = Field(default=None, min_length=1, max_length=140, pattern=r"^[-a-z0-9_]+$")


class CategoryPatch(Schema):
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
    price: Decimal
    stock: int
    is_active: bool
    category: CategoryRef
    created_at: datetime
    updated_at: datetime


class ProductIn(Schema):
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=10_000)
    price: Decimal = Price
    stock: int = Field(ge=0, le=MAX_STOCK)
    category_id: int = Field(ge=1)
    is_active: bool = True


class ProductPatch(Schema):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=10_000)
    price: Decimal | None = Field(default=None, gt=0, max_digits=10, decimal_places=2)
    stock: int | None = Field(default=None, ge=0, le=MAX_STOCK)
    category_id: int | None = Field(default=None, ge=1)
    is_active: bool | None = None


class ProductOrdering(StrEnum):
    price = "price"
    price_desc = "-price"
    name = "name"
    newest = "-created_at"


class ProductFilters(Schema):
    category: int | None = Field(default=None, ge=1)
    min_price: Decimal | None = Field(default=None, ge=0, max_digits=12, decimal_places=2)
    max_price: Decimal | None = Field(default=None, ge=0, max_digits=12, decimal_places=2)
    in_stock: bool | None = None
    search: str | None = Field(default=None, max_length=200)
    ordering: ProductOrdering = ProductOrdering.newest
