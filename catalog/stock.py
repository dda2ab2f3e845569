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

from common.errors import Conflict, InvalidInput, NotFound

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


# On PostgreSQL a stock change and its ledger row are ONE statement (an UPDATE ... RETURNING
# feeding an INSERT in a data-modifying CTE): a sale holds a hot product's row lock for that one
# round trip and the commit, not for two round trips (each a wait for the GIL and a core while
# the other requests run). Elsewhere (SQLite, the embedded default) the UPDATE and the INSERT
# are two statements under the same lock. Raw SQL only because the ORM cannot write such a CTE;
# cachalot invalidates the product table for raw writes as for ORM ones.
_MOVEMENT_COLUMNS = ("product_id", "kind", "delta", "stock_after", "reason", "order_id",
                     "created_by_id", "created_at")  # fmt: skip


def _sql_names() -> tuple[str, str, str]:
    qn = connection.ops.quote_name
    columns = ", ".join(qn(c) for c in _MOVEMENT_COLUMNS)
    return qn(Product._meta.db_table), qn(StockMovement._meta.db_table), columns


def _move(
    deltas: Mapping[int, int],
    left: Mapping[int, int],
    *,
    kind: str,
    order: Order | None = None,
    by: User | None = None,
    reason: str = "",
) -> list[StockMovement]:
    """Apply `deltas` to rows the caller has locked (so `left`, what they become, is known) and
    write their movements."""
    if connection.vendor != "postgresql":
        _shift(deltas)
        return _record(left, deltas, kind=kind, order=order, by=by, reason=reason)
    product, movement, columns = _sql_names()
    now = timezone.now()
    values = ", ".join(["(%s::bigint, %s::integer)"] * len(deltas))
    sql = (
        f"WITH d (id, delta) AS (VALUES {values}), "  # noqa: S608 - names from the models
        f"s AS (UPDATE {product} AS p SET stock = p.stock + d.delta, updated_at = %s "
        f"FROM d WHERE p.id = d.id RETURNING p.id, p.stock, d.delta) "
        f"INSERT INTO {movement} ({columns}) "
        f"SELECT s.id, %s, s.delta, s.stock, %s, %s, %s, %s FROM s ORDER BY s.id "
        f"RETURNING id, product_id, delta, stock_after"
    )
    params: list[Any] = [x for pid, d in deltas.items() for x in (pid, d)]
    params += [now, kind, reason, order.pk if order else None, by.pk if by else None, now]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return [
        StockMovement(
            pk=pk,
            product_id=product_id,
            kind=kind,
            delta=delta,
            stock_after=after,
            reason=reason,
            order=order,
            created_by=by,
            created_at=now,
        )
        for pk, product_id, delta, after in rows
    ]


def _take_one_as_seen(
    product_id: int, quantity: int, seen: Product, *, order: Order, by: User
) -> bool:
    """Take `quantity` in one statement if the row is still as snapshotted and has enough, and
    write the sale's movement. False when nothing was taken (then the caller locks and checks,
    to say exactly why)."""
    product, movement, columns = _sql_names()
    now = timezone.now()
    take = (
        f"UPDATE {product} SET stock = stock - %s, updated_at = %s "  # noqa: S608
        "WHERE id = %s AND is_active = %s AND price = %s AND name = %s AND stock >= %s "
        "RETURNING id, stock"
    )
    params: list[Any] = [quantity, now, product_id, True, seen.price, seen.name, quantity]
    if connection.vendor == "postgresql":
        sql = (
            f"WITH taken AS ({take}) INSERT INTO {movement} ({columns}) "  # noqa: S608
            "SELECT id, %s, %s, stock, '', %s, %s, %s FROM taken RETURNING stock_after"
        )
        params += [StockMovementKind.SALE, -quantity, order.pk, by.pk, now]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone() is not None
    with connection.cursor() as cursor:
        cursor.execute(take, params)
        row = cursor.fetchone()
    if row is None:
        return False
    _record({product_id: int(row[1])}, {product_id: -quantity}, kind=StockMovementKind.SALE,
            order=order, by=by)  # fmt: skip
    return True


def stock_take(
    *, quantities: Mapping[int, int], snapshot: Mapping[int, Product], order: Order, by: User
) -> None:
    """Take the stock an order sells, in the caller's transaction, just before its commit.

    A one-line order (the flash-sale case) first tries one conditional UPDATE that also writes
    the movement. Otherwise, or if that took nothing, the rows are locked, compared with the
    snapshot (a moved price or name raises CatalogMoved), checked for stock, and decremented
    with their movements in one statement.
    """
    if len(quantities) == 1:
        ((product_id, quantity),) = quantities.items()
        if _take_one_as_seen(product_id, quantity, snapshot[product_id], order=order, by=by):
            return
    locked = _lock(quantities.keys())
    check_for_sale(quantities, locked)
    left: dict[int, int] = {}
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
    deltas = {pid: -qty for pid, qty in quantities.items()}
    _move(deltas, left, kind=StockMovementKind.SALE, order=order, by=by)


def stock_return(*, quantities: Mapping[int, int], order: Order, by: User | None) -> None:
    """Give back what a cancelled order took, in the caller's transaction."""
    locked = _lock(quantities.keys())
    left = {pid: locked[pid].stock + qty for pid, qty in quantities.items()}
    _move(quantities, left, kind=StockMovementKind.CANCELLATION, order=order, by=by)


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
    (movement,) = _move({product.pk: delta}, {product.pk: target}, kind=kind, by=by, reason=reason)
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
