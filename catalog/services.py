"""Catalog writes: categories and products, with unique slugs made from names."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.db.models import F, Model
from django.db.models.deletion import ProtectedError
from django.utils import timezone
from django.utils.text import slugify

from common.db_errors import integrity_kind
from common.errors import Conflict, InvalidInput, NotFound, PreconditionFailed

from .models import Category, Product
from .stock import stock_open

if TYPE_CHECKING:
    from accounts.models import User


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


@contextmanager
def _constraints_as_conflicts(what: str) -> Iterator[None]:
    """A write refused by the database at statement or commit time, said without its SQL.

    Unique slugs and names are checked in code first; this is what a concurrent write that got
    there between our check and our commit sees. A foreign key is the other side of a delete
    race: the category or product this write refers to was deleted meanwhile.
    """
    try:
        with transaction.atomic():
            yield
    except IntegrityError as exc:
        kind = integrity_kind(exc)
        if kind == "unique":
            raise Conflict(
                f"{what} conflicts with an existing one (name or slug); try again.",
                code="slug_taken",
            ) from None
        if kind == "foreign_key":
            raise Conflict(
                f"{what} refers to a category or product that was deleted meanwhile.",
                code="deleted_meanwhile",
            ) from None
        raise


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
    with _constraints_as_conflicts("Category"):
        category.save(force_insert=True)
    return category


def category_update(*, category: Category, data: dict[str, Any]) -> Category:
    _check_category_unique(name=data.get("name"), slug=data.get("slug"), exclude_pk=category.pk)
    changed = [f for f in ("name", "slug") if data.get(f) is not None]
    for field in changed:
        setattr(category, field, data[field])
    if changed:
        with _constraints_as_conflicts("Category"):
            category.save(update_fields=changed)
    return category


def category_delete(*, category: Category) -> None:
    """Delete an empty category; one that has (or is concurrently given) products is a 409."""
    in_use = Conflict(
        f"Category '{category.name}' still has products; move or delete them first.",
        code="category_in_use",
    )
    try:
        with _constraints_as_conflicts("Category"):
            # Locked first: a product being created in it waits (see _category_for), and the
            # PROTECT check below then sees it.
            if not Category.objects.select_for_update().filter(pk=category.pk).exists():
                return
            category.delete()
    except ProtectedError:
        raise in_use from None
    except Conflict as exc:
        if exc.code == "deleted_meanwhile":  # a product created in it committed first
            raise in_use from None
        raise


def _category_for(category_id: int) -> Category:
    """The category a product goes in, locked against a concurrent delete until our commit."""
    category = Category.objects.select_for_update(no_key=True).filter(pk=category_id).first()
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
    by: User | None = None,
) -> Product:
    """A new product with its opening stock, which is the first movement of its ledger."""
    with _constraints_as_conflicts("Product"):
        product = Product(
            name=name,
            slug=_unique_slug(Product, name),
            description=description,
            price=_money(price),
            stock=stock,
            category=_category_for(category_id),
            is_active=is_active,
        )
        product.save(force_insert=True)
        stock_open(products=[product], by=by)
    return product


# What staff edit; stock is not among them (catalog.stock changes it).
EDITABLE_FIELDS = ("name", "description", "price", "category_id", "is_active")


def product_update(
    *, product: Product, data: dict[str, Any], if_versions: frozenset[int] | None = None
) -> Product:
    """Apply the fields given (PUT sends all, PATCH some), writing only those columns.

    With `if_versions` (from If-Match) the write happens only if the product is still at one of
    those versions, i.e. nobody edited it since it was read; otherwise 412 and nothing changes.
    Sales never change the version, so a sale between read and write does not refuse the edit,
    and the edit cannot touch the stock the sale took.
    """
    changes = {f: data[f] for f in EDITABLE_FIELDS if data.get(f) is not None}
    if "price" in changes:
        changes["price"] = _money(changes["price"])
    if "name" in changes and changes["name"] != product.name:
        changes["slug"] = _unique_slug(Product, changes["name"], exclude_pk=product.pk)
    with _constraints_as_conflicts("Product"):
        if "category_id" in changes:
            _category_for(changes["category_id"])
        rows = Product.objects.filter(pk=product.pk)
        if if_versions is not None:
            rows = rows.filter(version__in=if_versions)
        updated = rows.update(**changes, version=F("version") + 1, updated_at=timezone.now())
    if not updated:
        if if_versions is not None and Product.objects.filter(pk=product.pk).exists():
            raise PreconditionFailed(
                f"Product {product.pk} was changed since you read it (If-Match no longer "
                "matches its ETag); fetch it again and reapply your change.",
                code="version_mismatch",
            )
        raise NotFound(f"Product {product.pk} not found.", code="product_not_found")
    product.refresh_from_db()
    return product


def product_delete(*, product: Product) -> None:
    """Delete a product no order refers to; one in (or concurrently put in) an order is a 409."""
    in_use = Conflict(
        f"Product '{product.name}' appears in orders; deactivate it instead "
        "(is_active=false) so order history stays intact.",
        code="product_in_use",
    )
    try:
        with _constraints_as_conflicts("Product"):
            # Locked first: a checkout taking its stock waits, then finds it gone; one that took
            # it first has committed its order line, which the PROTECT check below then sees.
            if not Product.objects.select_for_update().filter(pk=product.pk).exists():
                return
            product.delete()
    except ProtectedError:
        raise in_use from None
    except Conflict as exc:
        if exc.code == "deleted_meanwhile":
            raise in_use from None
        raise
