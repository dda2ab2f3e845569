"""Order writes: checkout without overselling, and the one status-change service."""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction

from catalog import stock
from catalog.models import Product
from common.db_errors import integrity_kind
from common.errors import Conflict, FieldInvalid, InvalidInput, NotFound
from notifications.services import order_event_record

from .models import (
    MAX_ORDER_TOTAL,
    MAX_QUANTITY,
    TRANSITIONS,
    Order,
    OrderItem,
    OrderStatus,
    OrderStatusChange,
)


def _merge_lines(lines: Iterable[tuple[int, int]]) -> OrderedDict[int, int]:
    merged: OrderedDict[int, int] = OrderedDict()
    for product_id, quantity in lines:
        merged[product_id] = merged.get(product_id, 0) + quantity
    for product_id, quantity in merged.items():
        if quantity < 1 or quantity > MAX_QUANTITY:
            raise FieldInvalid(
                "items",
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
    if order is None:
        return None
    order.customer = customer  # the caller: the response names it without a query
    if order.request_fingerprint != fingerprint:
        raise Conflict(
            "This Idempotency-Key was already used with different items.",
            code="idempotency_key_reused",
        )
    return order


SNAPSHOT_ATTEMPTS = 3


def order_create(
    *, customer: Any, lines: Iterable[tuple[int, int]], idempotency_key: str | None = None
) -> tuple[Order, bool]:
    """Place an order at catalog prices; returns (order, created). Never oversells.

    The order, its lines, its history row and its `order.created` outbox row are written
    first; the product rows are locked last, in primary-key order, checked and decremented
    just before the commit, so a hot product stays locked for two statements and the commit,
    not for the whole checkout. The stock CHECK constraint backs the check in code. The
    returned order carries the lines it wrote as `created_items`, so the caller needs no
    second read.
    """
    merged = _merge_lines(lines)
    fingerprint = _fingerprint(merged)
    if idempotency_key:
        existing = _replay(customer=customer, key=idempotency_key, fingerprint=fingerprint)
        if existing is not None:
            return existing, False
    for _attempt in range(SNAPSHOT_ATTEMPTS):
        snapshot = stock.sale_snapshot(merged.keys())
        stock.check_for_sale(merged, snapshot)
        total = _total(merged, snapshot)
        try:
            return _write_order(
                customer, merged, snapshot, total, idempotency_key, fingerprint
            ), True
        except stock.CatalogMoved:
            continue
        except IntegrityError as exc:
            if idempotency_key and integrity_kind(exc) == "unique":
                # A concurrent request with the same key committed first (our insert waited on
                # its unique-index entry): answer with its order.
                existing = _replay(customer=customer, key=idempotency_key, fingerprint=fingerprint)
                if existing is not None:
                    return existing, False
            if integrity_kind(exc) == "foreign_key":
                # A product was deleted between our read and our commit.
                raise Conflict(
                    "A product in this order was removed from the catalog meanwhile; "
                    "please review the order and try again.",
                    code="product_removed",
                ) from None
            raise
    raise Conflict(
        "The catalog changed while the order was placed; please try again.",
        code="catalog_changed",
    )


def _total(merged: OrderedDict[int, int], snapshot: dict[int, Product]) -> Decimal:
    total = sum((snapshot[pid].price * qty for pid, qty in merged.items()), Decimal("0"))
    if total > MAX_ORDER_TOTAL:
        raise FieldInvalid(
            "items",
            f"The order total {total} exceeds the limit of {MAX_ORDER_TOTAL} per order; "
            "split it into smaller orders.",
            code="order_total_too_large",
        )
    return total


def _write_order(
    customer: Any,
    merged: OrderedDict[int, int],
    snapshot: dict[int, Product],
    total: Decimal,
    idempotency_key: str | None,
    fingerprint: str,
) -> Order:
    with transaction.atomic():
        order = Order.objects.create(
            customer=customer,
            total=total,
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
        placed = OrderStatusChange.objects.create(
            order=order, from_status="", to_status=OrderStatus.PENDING, changed_by=customer
        )
        order_event_record(order=order, change=placed, lines=order.created_items)
        stock.stock_take(quantities=merged, snapshot=snapshot, order=order, by=customer)
    return order


def order_status_change(
    *, order_id: int, status: str, by: Any, only_from: frozenset[str] | None = None
) -> Order:
    """The single path for every status change (API, owner's cancel, admin).

    Checks the transition table, returns stock on cancellation, records who/when/from/to and
    writes the notification outbox row, all in one transaction. Returns the changed order with
    its customer (its lines: `selectors.order_with_lines`).
    """
    with transaction.atomic():
        order = (
            Order.objects.select_for_update(of=("self",))
            .select_related("customer")
            .filter(pk=order_id)
            .first()
        )
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
            stock.stock_return(quantities=dict(items), order=order, by=by)
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
