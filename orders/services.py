"""Order writes: checkout without overselling, and the one status-change service."""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

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


def order_create(
    *, customer: Any, lines: Iterable[tuple[int, int]], idempotency_key: str | None = None
) -> tuple[Order, bool]:
    """Place an order at catalog prices; returns (order, created). Never oversells.

    Product rows are locked in primary-key order, so concurrent checkouts queue on the rows
    they share and can never deadlock; the stock CHECK constraint backs the check in code.
    """
    merged = _merge_lines(lines)
    fingerprint = _fingerprint(merged)
    if idempotency_key:
        existing = _replay(customer=customer, key=idempotency_key, fingerprint=fingerprint)
        if existing is not None:
            return existing, False
    try:
        with transaction.atomic():
            products = {
                p.pk: p
                for p in Product.objects.select_for_update()
                .filter(pk__in=merged.keys())
                .order_by("pk")
            }
            if idempotency_key:
                # A request with this key may have committed while we waited for the locks
                # (it took the same rows): answer with its order, not with the stock it took.
                existing = _replay(customer=customer, key=idempotency_key, fingerprint=fingerprint)
                if existing is not None:
                    return existing, False
            for product_id in merged:
                product = products.get(product_id)
                if product is None or not product.is_active:
                    raise InvalidInput(
                        f"Product {product_id} does not exist or is not for sale.",
                        code="product_unavailable",
                    )
            for product_id, quantity in merged.items():
                product = products[product_id]
                if product.stock < quantity:
                    raise Conflict(
                        f"Not enough stock for '{product.name}' (product {product_id}): "
                        f"{quantity} requested, {product.stock} available.",
                        code="insufficient_stock",
                    )
            _shift_stock({pid: -qty for pid, qty in merged.items()})
            total = sum((products[pid].price * qty for pid, qty in merged.items()), Decimal("0"))
            order = Order.objects.create(
                customer=customer,
                total=total,
                idempotency_key=idempotency_key or None,
                request_fingerprint=fingerprint if idempotency_key else "",
            )
            OrderItem.objects.bulk_create(
                OrderItem(
                    order=order,
                    product_id=pid,
                    product_name=products[pid].name,
                    unit_price=products[pid].price,
                    quantity=qty,
                )
                for pid, qty in merged.items()
            )
            OrderStatusChange.objects.create(
                order=order, from_status="", to_status=OrderStatus.PENDING, changed_by=customer
            )
    except IntegrityError:
        if idempotency_key:
            # A concurrent request with the same key won the insert: answer with its order.
            existing = _replay(customer=customer, key=idempotency_key, fingerprint=fingerprint)
            if existing is not None:
                return existing, False
        raise
    return order, True


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
            list(
                Product.objects.select_for_update()
                .filter(pk__in=[pid for pid, _ in items])
                .order_by("pk")
                .values_list("pk", flat=True)
            )
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
