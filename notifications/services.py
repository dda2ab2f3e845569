"""Writes: record an order event in the outbox, and push pending events to the channel layer."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from .groups import STAFF_GROUP, user_group
from .models import OrderEvent

if TYPE_CHECKING:
    from orders.models import Order, OrderStatusChange

logger = logging.getLogger(__name__)

# A sweep leaves fresh events to the task sent at commit, so it does not race it.
SWEEP_GRACE = timedelta(seconds=5)
SWEEP_BATCH = 500


def order_event_record(*, order: Order, change: OrderStatusChange) -> OrderEvent:
    """Write the outbox row in the caller's transaction; ask a worker to deliver after commit."""
    event = OrderEvent.objects.create(
        order=order,
        recipient_id=order.customer_id,
        old_status=change.from_status,
        new_status=change.to_status,
        changed_at=change.changed_at,
    )
    # robust: a broker that is down must not fail a change that already committed; the
    # sweep sends the event once the broker is back.
    transaction.on_commit(lambda: _enqueue(event.pk), robust=True)
    return event


def _enqueue(event_id: int) -> None:
    from .tasks import deliver_order_event

    deliver_order_event.delay(event_id)


def _push(events: list[OrderEvent]) -> None:
    """Send every message in one event loop and one set of Redis connections."""
    layer = get_channel_layer()
    if layer is None:
        return

    async def send_all() -> None:
        for event in events:
            message: dict[str, Any] = {"type": "order.event", "event": event.message()}
            await layer.group_send(user_group(event.recipient_id), message)
            await layer.group_send(STAFF_GROUP, message)

    async_to_sync(send_all)()


def events_deliver(*, event_ids: list[int]) -> int:
    """Push the given events that are not yet delivered; safe to run twice. Returns how many."""
    events = list(
        OrderEvent.objects.filter(pk__in=event_ids, delivered_at__isnull=True).order_by("pk")
    )
    if not events:
        return 0
    OrderEvent.objects.filter(pk__in=[e.pk for e in events]).update(attempts=F("attempts") + 1)
    _push(events)  # raises while the channel layer is down: the caller retries
    OrderEvent.objects.filter(pk__in=[e.pk for e in events], delivered_at__isnull=True).update(
        delivered_at=timezone.now()
    )
    return len(events)


def events_pending(*, grace: timedelta = SWEEP_GRACE) -> list[int]:
    cutoff = timezone.now() - grace
    return list(
        OrderEvent.objects.filter(delivered_at__isnull=True, changed_at__lte=cutoff)
        .order_by("pk")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
