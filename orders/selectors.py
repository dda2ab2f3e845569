"""Order reads, always scoped: a customer sees its own orders, staff see all."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet, prefetch_related_objects

from common.errors import NotFound

from .models import Order


def order_list(*, user: Any, status: str | None = None) -> QuerySet[Order]:
    qs = Order.objects.select_related("customer").prefetch_related("items")
    if not user.is_staff:
        qs = qs.filter(customer=user)
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-created_at", "-id")


def order_get(*, user: Any, pk: int) -> Order:
    order = order_list(user=user).filter(pk=pk).first()
    if order is None:
        # The same answer for "missing" and "not yours": ids of others' orders stay unknown.
        raise NotFound(f"Order {pk} not found.", code="order_not_found")
    return order


def order_with_lines(order: Order) -> Order:
    """An order a service just wrote (customer loaded), with its lines: the answer to a change
    without reading the order again."""
    prefetch_related_objects([order], "items")
    return order
