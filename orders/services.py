"""Order writes: checkout without overselling, and the one status-change service."""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from cachalot.api import cachalot_disabled
from django.db import IntegrityError, transaction
from django.db.models import Case, F, When
from django.utils import timezone

from catalog.models import Product
from config.errors import Conflict, InvalidInput, NotFound
from notifications.services import order_event_record

from .models import TRANSITIONS, Order, OrderItem, OrderStatus, OrderStatusChange
from .schemas import MAX_QUANTITY


def _merge_lines(lines: Iterable[tuple[int, int]]) -> OrderedDict[int, int]:
    merged: OrderedDict[int, int] = OrderedDict()
    for product_id, quantity in lines:
        merged[product_id] = merged.get(product_id, 0) + quantity
    for product_id, quantity in merged.items():
        if quantity < 1 or quantity > MAX_QUANTITY:
            raise InvalidInput(
                f"Quantity for product {product_id} must be between 1 and {MAX_QUANTITY} "
                f"(got {quantity} after merging repeated lines).",
                code="invalid_quantity",
            )
    if not merged:
        raise InvalidInput("An order needs at least one item.", code="empty_order")
    return merged


def _fingerprint(merged: OrderedDict[int, int]) -> str:
    canonical = ",".join(f"{pid}x{qty}" for pid, qty in sorted(merged.items()))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _replay(*, customer: Any, key: str, fingerprint: str) -> Order | None:
    order = Order.objects.filter(customer=customer, idempotency_key=key).first()
    if order is not None and order.request_fingerprint != fingerprint:
        raise Conflict(
            "This Idempotency-Key was already used with different items.",
            code="idempotency_key_reused",
        )
    return order


def _shift_stock(deltas: dict[int, int]) -> None:
    """One UPDATE for every line: stock += delta per product (the DB refuses a negative)."""
    Product.objects.filter(pk__in=deltas).update(
        stock=Case(*(When(pk=pk, then=F("stock") + d) for pk, d in deltas.items())),
        updated_at=timezone.now(),
    )


# What checkout reads of a product, before the lock (the snapshot) and under it.
_CHECKOUT_FIELDS = ("pk", "name", "price", "stock", "is_active")


def _lock_products(product_ids: Iterable[int]) -> dict[int, Product]:
    """Lock the rows in primary-key order, so checkouts and cancels sharing rows never deadlock.

    FOR NO KEY UPDATE: the rows' keys do not change, so it does not wait on the key-share locks
    that other checkouts' order lines take on the same products.
    """
    return {
        p.pk: p
        for p in Product.objects.select_for_update(no_key=True)
        .filter(pk__in=product_ids)
        .order_by("pk")
        .only(*_CHECKOUT_FIELDS)
    }


class _CatalogMoved(Exception):
    """A price or name changed between the snapshot and the lock: take the snapshot again."""


SNAPSHOT_ATTEMPTS = 3


def _snapshot(product_ids: Iterable[int]) -> dict[int, Product]:
    """Names and prices to write on the lines, read without locking (checked again under lock)."""
    with cachalot_disabled():  # stock changes on every checkout: a cached copy is never reused
        return {p.pk: p for p in Product.objects.filter(pk__in=product_ids).only(*_CHECKOUT_FIELDS)}


def _check_for_sale(merged: OrderedDict[int, int], products: dict[int, Product]) -> None:
    for product_id in merged:
        product = products.get(product_id)
        if product is None or not product.is_active:
            raise InvalidInput(
                f"Product {product_id} does not exist or is not for sale.",
                code="product_unavailable",
            )


def _take_stock(merged: OrderedDict[int, int], snapshot: dict[int, Product]) -> None:
    """Lock the rows, check them against the snapshot and the stock, and take the stock.

    A one-line order (the flash-sale case) first tries a single conditional UPDATE, which
    takes the stock only if the row is still as snapshotted and has enough: one statement
    instead of two while the row is locked. If it takes nothing, the row is locked and checked
    as for any order, to say exactly why (or to go ahead if stock came back meanwhile).
    """
    if len(merged) == 1:
        ((product_id, quantity),) = merged.items()
        seen = snapshot[product_id]
        taken = Product.objects.filter(
            pk=product_id, is_active=True, price=seen.price, name=seen.name, stock__gte=quantity
        ).update(stock=F("stock") - quantity, updated_at=timezone.now())
        if taken:
            return
    locked = _lock_products(merged.keys())
    _check_for_sale(merged, locked)
    for product_id, quantity in merged.items():
        product, seen = locked[product_id], snapshot[product_id]
        if (product.price, product.name) != (seen.price, seen.name):
            raise _CatalogMoved
        if product.stock < quantity:
            raise Conflict(
                f"Not enough stock for '{product.name}' (product {product_id}): "
                f"{quantity} requested, {product.stock} available.",
                code="insufficient_stock",
            )
    _shift_stock({pid: -qty for pid, qty in merged.items()})


def order_create(
    *, customer: Any, lines: Iterable[tuple[int, int]], idempotency_key: str | None = None
) -> tuple[Order, bool]:
    """Place an order at catalog prices; returns (order, created). Never oversells.

    The order, its lines and its history row are written first; the product rows are locked
    last, in primary-key order, checked and decremented just before the commit, so a hot
    product stays locked for two statements and the commit, not for the whole checkout. The
    stock CHECK constraint backs the check in code. The returned order carries the lines it
    wrote as `created_items`, so the caller needs no second read.
    """
    merged = _merge_lines(lines)
    fingerprint = _fingerprint(merged)
    if idempotency_key:
        existing = _replay(customer=customer, key=idempotency_key, fingerprint=fingerprint)
        if existing is not None:
            return existing, False
    for _attempt in range(SNAPSHOT_ATTEMPTS):
        snapshot = _snapshot(merged.keys())
        _check_for_sale(merged, snapshot)
        try:
            return _write_order(customer, merged, snapshot, idempotency_key, fingerprint), True
        except _CatalogMoved:
            continue
        except IntegrityError:
            if idempotency_key:
                # A concurrent request with the same key committed first (our insert waited on
                # its unique-index entry): answer with its order.
                existing = _replay(customer=customer, key=idempotency_key, fingerprint=fingerprint)
                if existing is not None:
                    return existing, False
            raise
    raise Conflict(
        "The catalog changed while the order was placed; please try again.",
        code="catalog_changed",
    )


def _write_order(
    customer: Any,
    merged: OrderedDict[int, int],
    snapshot: dict[int, Product],
    idempotency_key: str | None,
    fingerprint: str,
) -> Order:
    with transaction.atomic():
        order = Order.objects.create(
            customer=customer,
            total=sum((snapshot[pid].price * qty for pid, qty in merged.items()), Decimal("0")),
            idempotency_key=idempotency_key or None,
            request_fingerprint=fingerprint if idempotency_key else "",
        )
        order.created_items = OrderItem.objects.bulk_create(
            OrderItem(
                order=order,
                product_id=pid,
                product_name=snapshot[pid].name,
                unit_price=snapshot[pid].price,
                quantity=qty,
            )
            for pid, qty in merged.items()
        )
        OrderStatusChange.objects.create(
            order=order, from_status="", to_status=OrderStatus.PENDING, changed_by=customer
        )
        _take_stock(merged, snapshot)
    return order


def order_status_change(
    *, order_id: int, status: str, by: Any, only_from: frozenset[str] | None = None
) -> Order:
    """The single path for every status change (API, owner's cancel, admin).

    Checks the transition table, returns stock on cancellation, records who/when/from/to and
    writes the notification outbox row, all in one transaction.
    """
    with transaction.atomic():
        order = Order.objects.select_for_update().filter(pk=order_id).first()
        if order is None:
            raise NotFound(f"Order {order_id} not found.", code="order_not_found")
        old = order.status
        allowed = TRANSITIONS[old] if only_from is None or old in only_from else frozenset()
        if status not in allowed:
            raise Conflict(
                f"Order {order.pk} cannot change from '{old}' to '{status}'.",
                code="invalid_transition",
            )
        if status == OrderStatus.CANCELLED:
            items = order.items.order_by("product_id").values_list("product_id", "quantity")
            # Lock in product-id order, as checkout does, before giving the stock back.
            _lock_products([pid for pid, _ in items])
            _shift_stock(dict(items))
        order.status = status
        order.save(update_fields=["status", "updated_at"])
        change = OrderStatusChange.objects.create(
            order=order, from_status=old, to_status=status, changed_by=by
        )
        order_event_record(order=order, change=change)
    return order


def order_cancel(*, order_id: int, by: Any) -> Order:
    """The owner cancels its own order, which is allowed only while it is pending."""
    if not Order.objects.filter(pk=order_id, customer=by).exists():
        raise NotFound(f"Order {order_id} not found.", code="order_not_found")
    return order_status_change(
        order_id=order_id,
        status=OrderStatus.CANCELLED,
        by=by,
        only_from=frozenset({OrderStatus.PENDING}),
    )
