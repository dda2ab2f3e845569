"""Catalog reads, scoped to what the caller may see (inactive products are staff-only)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import F, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce

from common.errors import NotFound

from .models import Category, Product, StockMovement


def _is_staff(user: Any) -> bool:
    return bool(getattr(user, "is_staff", False))


def category_list() -> QuerySet[Category]:
    return Category.objects.order_by("name", "id")


def category_get(*, pk: int) -> Category:
    category = Category.objects.filter(pk=pk).first()
    if category is None:
        raise NotFound(f"Category {pk} not found.", code="category_not_found")
    return category


def product_list(
    *,
    user: Any,
    category: int | None = None,
    min_price: Decimal | None = None,
    max_price: Decimal | None = None,
    in_stock: bool | None = None,
    search: str | None = None,
    ordering: str = "-created_at",
) -> QuerySet[Product]:
    qs = Product.objects.select_related("category")
    if not _is_staff(user):
        qs = qs.filter(is_active=True)
    if category is not None:
        qs = qs.filter(category_id=category)
    if min_price is not None:
        qs = qs.filter(price__gte=min_price)
    if max_price is not None:
        qs = qs.filter(price__lte=max_price)
    if in_stock is True:
        qs = qs.filter(stock__gt=0)
    elif in_stock is False:
        qs = qs.filter(stock=0)
    if search:
        qs = qs.filter(Q(name__icontains=search) | Q(description__icontains=search))
    # The id tie-breaker keeps pages stable when the sort key repeats.
    return qs.order_by(ordering, "-id" if ordering.startswith("-") else "id")


def product_get(*, user: Any, pk: int) -> Product:
    product = product_list(user=user).filter(pk=pk).first()
    if product is None:
        raise NotFound(f"Product {pk} not found.", code="product_not_found")
    return product


def stock_movement_list(*, product_id: int) -> QuerySet[StockMovement]:
    """A product's stock ledger, newest first (staff only: the caller checks)."""
    if not Product.objects.filter(pk=product_id).exists():
        raise NotFound(f"Product {product_id} not found.", code="product_not_found")
    return StockMovement.objects.filter(product_id=product_id).order_by("-id")


def stock_discrepancies(*, pk_from: int, pk_to: int) -> list[tuple[int, str, int, int]]:
    """Products with pk in [pk_from, pk_to) whose stock is not the sum of their ledger:
    (id, name, stock, ledger sum)."""
    ledger = (
        StockMovement.objects.filter(product=OuterRef("pk"))
        .values("product")
        .annotate(total=Sum("delta"))
        .values("total")
    )
    rows = (
        Product.objects.filter(pk__gte=pk_from, pk__lt=pk_to)
        .annotate(ledger=Coalesce(Subquery(ledger), 0))
        .exclude(stock=F("ledger"))
        .order_by("pk")
        .values_list("pk", "name", "stock", "ledger")
    )
    return list(rows)
