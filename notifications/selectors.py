"""Reads: the caller's order events, for clients catching up after a disconnect."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from .models import OrderEvent


def event_list(*, user: Any, after: int | None = None) -> QuerySet[OrderEvent]:
    qs = OrderEvent.objects.all()
    if not user.is_staff:
        qs = qs.filter(recipient=user)
    if after is not None:
        qs = qs.filter(pk__gt=after)
    return qs.order_by("-id")
