"""The only code that changes a product's stock: every change writes its StockMovement row in the
same transaction, so the stock always equals the sum of its ledger (`manage.py check_stock`).

Sales and cancellations come from the order service; adjustments and counts from staff (API and
admin). Rows are locked in primary-key order everywhere, so two writers sharing products never
deadlock. Nothing outside this module writes `Product.stock` (catalog services create products
through `stock_open`; product edits never include the column).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from cachalot.api import cachalot_disabled
from django.db import connection, transaction
from django.db.models import Case, F, When
from django.utils import timezone

from config.errors import Conflict, InvalidInput, NotFound

from .models import MAX_STOCK, Product, StockMovement, StockMovementKind

if TYPE_CHECKING:
    from accounts.models import User
    from orders.models import Order

# What a sale reads of a product: before the lock (the snapshot) and under it.
SALE_FIELDS = ("pk", "name", "price", "stock", "is_active")


class CatalogMoved(Exception):
    """A price or name changed between the snapshot and the lock: the sale must start again."""


def sale_snapshot(product_ids: Iterable[int]) -> dict[int, Product]:
    """Names, prices and stock to sell at, read without locking (checked again under the lock).

    Read past cachalot: stock changes on every sale, so a cached copy would never be reused.
    """
    with cachalot_disabled():
        return {p.pk: p for p in Product.objects.filter(pk__in=product_ids).only(*SALE_FIELDS)}


def check_for_sale(quantities: Mapping[int, int], products: Mapping[int, Product]) -> None:
    for product_id in quantities:
        product = products.get(product_id)
        if product is None or not product.is_active:
            raise InvalidInput(
                f"Product {product_id} does not exist or is not for sale.",
                code="product_unavailable",
            )


def _lock(product_ids: Iterable[int]) -> dict[int, Product]:
    """Lock the rows in primary-key order.

    FOR NO KEY UPDATE: the rows' keys do not change, so it does not wait on the key-share locks
    that other checkouts' order lines take on the same products.
    """
    return {
        p.pk: p
        for p in Product.objects.select_for_update(no_key=True)
        .filter(pk__in=product_ids)
        .order_by("pk")
        .only(*SALE_FIELDS)
    }


def _shift(deltas: Mapping[int, int]) -> None:
    """One UPDATE for every product: stock += delta (the database refuses a negative)."""
    Product.objects.filter(pk__in=deltas).update(
        stock=Case(*(When(pk=pk, then=F("stock") + d) for pk, d in deltas.items())),
        updated_at=timezone.now(),
    )


def _take_one_as_seen(product_id: int, quantity: int, seen: Product) -> int | None:
    """Take `quantity` in one statement if the row is still as snapshotted and has enough.

    Returns the stock left, or None when nothing was taken (then the caller locks and checks, to
    say exactly why). Raw SQL only for RETURNING, which the ORM's update() cannot ask for;
    cachalot invalidates the table for raw writes as for ORM ones.
    """
    qn = connection.ops.quote_name
    sql = (
        f"UPDATE {qn(Product._meta.db_table)} SET {qn('stock')} = {qn('stock')} - %s, "  # noqa: S608
        f"{qn('updated_at')} = %s WHERE {qn('id')} = %s AND {qn('is_active')} = %s "
        f"AND {qn('price')} = %s AND {qn('name')} = %s AND {qn('stock')} >= %s "
        f"RETURNING {qn('stock')}"
    )
    params: list[Any] = [
        quantity,
        timezone.now(),
        product_id,
        True,
        seen.price,
        seen.name,
        quantity,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return None if row is None else int(row[0])


def _record(
    left: Mapping[int, int],
    deltas: Mapping[int, int],
    *,
    kind: str,
    order: Order | None = None,
    by: User | None = None,
    reason: str = "",
) -> list[StockMovement]:
    return StockMovement.objects.bulk_create(
        StockMovement(
            product_id=pid,
            kind=kind,
            delta=delta,
            stock_after=left[pid],
            reason=reason,
            order=order,
            created_by=by,
        )
        for pid, delta in deltas.items()
    )


def stock_take(
    *, quantities: Mapping[int, int], snapshot: Mapping[int, Product], order: Order, by: User
) -> None:
    """Take the stock an order sells, in the caller's transaction, just before its commit.

    A one-line order (the flash-sale case) first tries one conditional UPDATE. Otherwise, or if
    that took nothing, the rows are locked, compared with the snapshot (a moved price or name
    raises CatalogMoved), checked for stock, and decremented in one UPDATE. Either way one bulk
    INSERT writes the sale's movements.
    """
    left: dict[int, int] = {}
    if len(quantities) == 1:
        ((product_id, quantity),) = quantities.items()
        taken = _take_one_as_seen(product_id, quantity, snapshot[product_id])
        if taken is not None:
            left[product_id] = taken
    if not left:
        locked = _lock(quantities.keys())
        check_for_sale(quantities, locked)
        for product_id, quantity in quantities.items():
            product, seen = locked[product_id], snapshot[product_id]
            if (product.price, product.name) != (seen.price, seen.name):
                raise CatalogMoved
            if product.stock < quantity:
                raise Conflict(
                    f"Not enough stock for '{product.name}' (product {product_id}): "
                    f"{quantity} requested, {product.stock} available.",
                    code="insufficient_stock",
                )
            left[product_id] = product.stock - quantity
        _shift({pid: -qty for pid, qty in quantities.items()})
    _record(
        left,
        {pid: -qty for pid, qty in quantities.items()},
        kind=StockMovementKind.SALE,
        order=order,
        by=by,
    )


def stock_return(*, quantities: Mapping[int, int], order: Order, by: User | None) -> None:
    """Give back what a cancelled order took, in the caller's transaction."""
    locked = _lock(quantities.keys())
    _shift(quantities)
    left = {pid: locked[pid].stock + qty for pid, qty in quantities.items()}
    _record(left, quantities, kind=StockMovementKind.CANCELLATION, order=order, by=by)


def _locked_product(product_id: int) -> Product:
    product = _lock([product_id]).get(product_id)
    if product is None:
        raise NotFound(f"Product {product_id} not found.", code="product_not_found")
    return product


def _apply(product: Product, target: int, *, kind: str, reason: str, by: User) -> StockMovement:
    if target < 0:
        raise Conflict(
            f"Stock of '{product.name}' (product {product.pk}) cannot go below zero: "
            f"it is {product.stock}, the change would make it {target}.",
            code="stock_below_zero",
        )
    if target > MAX_STOCK:
        raise Conflict(
            f"Stock of '{product.name}' (product {product.pk}) cannot exceed {MAX_STOCK}: "
            f"it is {product.stock}, the change would make it {target}.",
            code="stock_above_limit",
        )
    delta = target - product.stock
    _shift({product.pk: delta})
    (movement,) = _record(
        {product.pk: target}, {product.pk: delta}, kind=kind, by=by, reason=reason
    )
    return movement


def stock_adjust(*, product_id: int, delta: int, reason: str, by: User) -> StockMovement:
    """Staff receive goods (+) or write stock off (-); refused when the result would be < 0."""
    with transaction.atomic():
        product = _locked_product(product_id)
        return _apply(
            product, product.stock + delta, kind=StockMovementKind.ADJUSTMENT, reason=reason, by=by
        )


def stock_count(*, product_id: int, quantity: int, reason: str, by: User) -> StockMovement:
    """Staff set the stock to a counted value; the movement records the difference."""
    with transaction.atomic():
        product = _locked_product(product_id)
        return _apply(product, quantity, kind=StockMovementKind.COUNT, reason=reason, by=by)


def stock_open(*, products: Iterable[Product], by: User | None = None) -> None:
    """The opening movements of products just created with their stock (caller's transaction)."""
    opening = {p.pk: p.stock for p in products}
    _record(opening, opening, kind=StockMovementKind.OPENING, by=by, reason="opening stock")
