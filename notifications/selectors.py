"""Reads: the caller's order events (the catch-up feed), webhook endpoints for staff, and the
recent session notices of the users whose sockets a web process holds."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from django.db.models import QuerySet

from common.errors import NotFound

from .models import (
    DeliveryStatus,
    EmailDelivery,
    OrderEvent,
    SessionNotice,
    WebhookDelivery,
    WebhookEndpoint,
)


def event_list(*, user: Any, after: int | None = None) -> QuerySet[OrderEvent]:
    qs = OrderEvent.objects.all()
    if not user.is_staff:
        qs = qs.filter(recipient=user)
    if after is not None:
        qs = qs.filter(pk__gt=after)
    return qs.order_by("-id")


def webhook_endpoint_list() -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.order_by("id")


def webhook_endpoint_get(*, pk: int) -> WebhookEndpoint:
    endpoint = WebhookEndpoint.objects.filter(pk=pk).first()
    if endpoint is None:
        raise NotFound(f"Webhook endpoint {pk} not found.", code="webhook_not_found")
    return endpoint


def webhook_delivery_list(*, endpoint_id: int, status: str | None) -> QuerySet[WebhookDelivery]:
    webhook_endpoint_get(pk=endpoint_id)
    qs = WebhookDelivery.objects.filter(endpoint_id=endpoint_id)
    if status is not None:
        qs = qs.filter(status=status)
    return qs.select_related("event").prefetch_related("attempt_log").order_by("-id")


def webhook_delivery_get(*, endpoint_id: int, pk: int) -> WebhookDelivery:
    delivery = webhook_delivery_list(endpoint_id=endpoint_id, status=None).filter(pk=pk).first()
    if delivery is None:
        raise NotFound(f"Delivery {pk} not found.", code="delivery_not_found")
    return delivery


def dead_list(*, channel: str) -> QuerySet[Any]:
    """Deliveries that used up their attempts on one channel, newest first (staff only)."""
    if channel == "socket":
        return OrderEvent.objects.filter(dead_at__isnull=False).order_by("-id")
    if channel == "email":
        return (
            EmailDelivery.objects.filter(status=DeliveryStatus.DEAD)
            .select_related("event")
            .order_by("-id")
        )
    return (
        WebhookDelivery.objects.filter(status=DeliveryStatus.DEAD)
        .select_related("event", "endpoint")
        .order_by("-id")
    )


def session_notices_since(
    *, since: datetime, user_ids: Collection[int]
) -> list[tuple[int, dict[str, Any]]]:
    """(user id, notice) of the given users' notices written since `since`, oldest first."""
    rows = SessionNotice.objects.filter(created_at__gte=since, user_id__in=list(user_ids))
    return list(rows.order_by("id").values_list("user_id", "notice"))
