"""Catalog writes: categories and products, with unique slugs made from names."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Model
from django.db.models.deletion import ProtectedError
from django.utils.text import slugify

from config.errors import Conflict, InvalidInput

from .models import Category, Product


def _unique_slug(model: type[Model], source: str, *, exclude_pk: int | None = None) -> str:
    base = slugify(source)[:120] or model._meta.model_name or "item"
    taken = set(
        model._default_manager.filter(slug__startswith=base)  # type: ignore[attr-defined]
        .exclude(pk=exclude_pk)
        .values_list("slug", flat=True)
    )
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    return slug


def _money(value: Any) -> Decimal:
    """Two decimal places, as stored: the response must show "12.50", not "12.5"."""
    return Decimal(value).quantize(Decimal("0.01"))


def _save(instance: Model, what: str) -> None:
    try:
        with transaction.atomic():
            instance.save()
    except IntegrityError as exc:
        raise Conflict(f"{what} conflicts with an existing one: {exc}".split("\n")[0]) from None


def _check_category_unique(*, name: str | None, slug: str | None, exclude_pk: int | None) -> None:
    others = (
        Category.objects.all() if exclude_pk is None else Category.objects.exclude(pk=exclude_pk)
    )
    if name is not None and others.filter(name__iexact=name).exists():
        raise Conflict(f"A category named '{name}' already exists.", code="category_exists")
    if slug is not None and others.filter(slug=slug).exists():
        raise Conflict(f"The slug '{slug}' is already used.", code="slug_taken")


def category_create(*, name: str, slug: str | None = None) -> Category:
    _check_category_unique(name=name, slug=slug, exclude_pk=None)
    category = Category(name=name, slug=slug or _unique_slug(Category, name))
    _save(category, "Category")
    return category


def category_update(*, category: Category, data: dict[str, Any]) -> Category:
    _check_category_unique(name=data.get("name"), slug=data.get("slug"), exclude_pk=category.pk)
    for field in ("name", "slug"):
        if data.get(field) is not None:
            setattr(category, field, data[field])
    _save(category, "Category")
    return category


def category_delete(*, category: Category) -> None:
    try:
        with transaction.atomic():
            category.delete()
    except ProtectedError:
        raise Conflict(
            f"Category '{category.name}' still has products; move or delete them first.",
            code="category_in_use",
        ) from None


def _category_for(category_id: int) -> Category:
    category = Category.objects.filter(pk=category_id).first()
    if category is None:
        raise InvalidInput(f"Category {category_id} does not exist.", code="unknown_category")
    return category


def product_create(
    *,
    name: str,
    price: Any,
    stock: int,
    category_id: int,
    description: str = "",
    is_active: bool = True,
) -> Product:
    product = Product(
        name=name,
        slug=_unique_slug(Product, name),
        description=description,
        price=_money(price),
        stock=stock,
        category=_category_for(category_id),
        is_active=is_active,
    )
    _save(product, "Product")
    return product


def product_update(*, product: Product, data: dict[str, Any]) -> Product:
    """Apply the given fields (PUT sends all, PATCH some); a new name gets a new slug."""
    if data.get("category_id") is not None:
        product.category = _category_for(data["category_id"])
    if data.get("name") is not None and data["name"] != product.name:
        product.slug = _unique_slug(Product, data["name"], exclude_pk=product.pk)
    if data.get("price") is not None:
        data = {**data, "price": _money(data["price"])}
    for field in ("name", "description", "price", "stock", "is_active"):
        if data.get(field) is not None:
            setattr(product, field, data[field])
    _save(product, "Product")
    return product


def product_delete(*, product: Product) -> None:
    try:
        with transaction.atomic():
            product.delete()
    except ProtectedError:
        raise Conflict(
            f"Product '{product.name}' appears in orders; deactivate it instead "
            "(is_active=false) so order history stays intact.",
            code="product_in_use",
        ) from None
