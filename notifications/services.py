"""Writes: record order events in the outbox, push them to sockets and fan them out to channels."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Callable, Coroutine, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from .emails import emails_request
from .groups import STAFF_GROUP, sessions_group, user_group
from .models import (
    PAYLOAD_VERSION,
    DeliveryStatus,
    EmailDelivery,
    EventType,
    OrderEvent,
    WebhookDelivery,
    WebhookEndpoint,
)

if TYPE_CHECKING:
    from orders.models import Order, OrderItem, OrderStatusChange

logger = logging.getLogger(__name__)

# A sweep leaves fresh events to the task sent at commit.
SWEEP_GRACE = timedelta(seconds=5)
SWEEP_BATCH = 500
# A commit queues a dispatch task only when none is queued and not yet started: that one finds
# the new event too. So under load one task pushes (and fans out) every event committed while
# it waited, instead of one task per event (whose queueing and running cost more than the push).
# The mark expires, so a lost task holds nothing up for longer than this.
DISPATCH_QUEUED_KEY = "notifications:dispatch-queued"
DISPATCH_QUEUED_SECONDS = 5
DISPATCH_BATCH = 200
DISPATCH_ROUNDS = 50


def _payload(
    order: Order, change: OrderStatusChange, lines: list[OrderItem] | None
) -> dict[str, Any]:
    """The versioned event data every channel shares (JSON-safe: money as a decimal string)."""
    data: dict[str, Any] = {
        "version": PAYLOAD_VERSION,
        "order_id": order.pk,
        "customer_id": order.customer_id,
        "status_before": change.from_status or None,
        "status_after": change.to_status,
        "total": str(order.total),
        "occurred_at": change.changed_at.isoformat(),
    }
    if lines is not None:
        data["lines"] = [
            {
                "product_id": line.product_id,
                "product_name": line.product_name,
                "unit_price": str(line.unit_price),
                "quantity": line.quantity,
            }
            for line in lines
        ]
    return data


def order_event_record(
    *, order: Order, change: OrderStatusChange, lines: list[OrderItem] | None = None
) -> OrderEvent:
    """Write the outbox row in the caller's transaction; ask a worker to deliver after commit.

    With `lines` (checkout) the event is `order.created`, otherwise `order.status_changed`.
    One INSERT: the checkout's only extra query.
    """
    event = OrderEvent.objects.create(
        type=EventType.ORDER_CREATED if lines is not None else EventType.ORDER_STATUS_CHANGED,
        order=order,
        recipient_id=order.customer_id,
        old_status=change.from_status,
        new_status=change.to_status,
        changed_at=change.changed_at,
        payload=_payload(order, change, lines),
    )
    # robust: a broker that is down must not fail a change that already committed; the
    # sweep sends the event once the broker is back.
    transaction.on_commit(lambda: dispatch_request(event.pk), robust=True)
    return event


def dispatch_request(event_id: int) -> None:
    """After a commit: queue a dispatch unless one is already queued and has not started (it
    will find this event). While the cache is unreachable nothing is queued from here: the
    broker is then usually unreachable too, and the sweep pushes the event."""
    from .tasks import deliver_order_event

    if not cache.add(DISPATCH_QUEUED_KEY, event_id, DISPATCH_QUEUED_SECONDS):
        return
    try:
        deliver_order_event.delay(event_id)
    except BaseException:
        cache.delete(DISPATCH_QUEUED_KEY)  # the next commit tries again
        raise


class _SenderLoop:
    """One event loop per process, on a daemon thread, for sends to the Redis channel layer.

    `async_to_sync` would start a new loop, and so new Redis connections, for every task
    (1.8 ms a delivery here, against 0.4 ms on a loop that stays). A forked worker child starts
    its own loop: a loop and its connections are never shared across a fork.
    """

    SEND_TIMEOUT = 10.0

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pid = 0

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or self._pid != os.getpid():
                self._loop = asyncio.new_event_loop()
                self._pid = os.getpid()
                threading.Thread(
                    target=self._loop.run_forever, name="channel-layer-sender", daemon=True
                ).start()
            return self._loop

    def run(self, send: Callable[[], Coroutine[Any, Any, None]]) -> None:
        future = asyncio.run_coroutine_threadsafe(send(), self._running_loop())
        try:
            future.result(timeout=self.SEND_TIMEOUT)
        except TimeoutError:
            future.cancel()
            raise


_sender = _SenderLoop()


def _push(events: list[OrderEvent]) -> None:
    """Send every message of a delivery in one go; raises while the channel layer is down."""
    messages: list[tuple[str, dict[str, Any]]] = []
    for event in events:
        message: dict[str, Any] = {"type": "order.event", "event": event.message()}
        messages += [(user_group(event.recipient_id), message), (STAFF_GROUP, message)]
    _group_send_all(messages)


def session_notice_send(*, user_id: int, notice: dict[str, str | bool]) -> None:
    """Tell every socket of a user that its sessions or rights changed; they close themselves
    if it concerns them (`OrderEventsConsumer.session_revoke`). Raises while the layer is down.
    """
    _group_send_all([(sessions_group(user_id), {"type": "session.revoke", **notice})])


def _group_send_all(messages: list[tuple[str, dict[str, Any]]]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return

    async def send_all() -> None:
        for group, message in messages:
            await layer.group_send(group, message)

    if isinstance(layer, InMemoryChannelLayer):
        # The embedded default: the layer lives on the web server's own loop, where its
        # consumers are; async_to_sync from a request thread runs the send there.
        async_to_sync(send_all)()
    else:
        _sender.run(send_all)


def events_deliver(*, event_ids: list[int]) -> int:
    """Push the given events that are not yet delivered; safe to run twice. Returns how many.

    The rows stay locked while they are pushed: a second task waits, then finds them delivered,
    so two tasks never push one event twice. Every attempt is counted; an event whose pushes failed
    `NOTIFY_SOCKET_MAX_ATTEMPTS` times is marked dead instead: the sweep stops retrying it, and
    staff find it in the admin.
    """
    failure: Exception | None = None
    with transaction.atomic():
        events = list(
            OrderEvent.objects.select_for_update()
            .filter(pk__in=event_ids, delivered_at__isnull=True, dead_at__isnull=True)
            .order_by("pk")
        )
        cap = settings.NOTIFY_SOCKET_MAX_ATTEMPTS
        spent = [e.pk for e in events if e.attempts >= cap]
        if spent:
            OrderEvent.objects.filter(pk__in=spent).update(dead_at=timezone.now())
            logger.warning("socket delivery of events %s dead after %d attempts", spent, cap)
            events = [e for e in events if e.attempts < cap]
        if not events:
            return 0
        pushing = OrderEvent.objects.filter(pk__in=[e.pk for e in events])
        try:
            _push(events)
        except Exception as exc:  # noqa: BLE001 - counted here, raised below for the retry
            failure = exc
            pushing.update(attempts=F("attempts") + 1)
        else:
            pushing.update(attempts=F("attempts") + 1, delivered_at=timezone.now())
    if failure is not None:
        raise failure
    return len(events)


def events_due() -> list[int]:
    """The oldest events still to push or to fan out (a dispatch's batch)."""
    due = Q(delivered_at__isnull=True, dead_at__isnull=True) | Q(fanned_out_at__isnull=True)
    return list(
        OrderEvent.objects.filter(due).order_by("pk").values_list("pk", flat=True)[:DISPATCH_BATCH]
    )


def event_process(*, event_id: int) -> int:
    """What the task queued at commit does: push every event due (`event_id`'s and whatever
    commits meanwhile) to the sockets, then fan them out to the other channels (write their
    e-mail and webhook deliveries, queue those on the `notify` queue). Returns how many it
    pushed.

    While it works, the queued mark stays set, so commits queue no further task: each round
    takes what committed during the last one. Once nothing is due it clears the mark and looks
    once more (a commit may have seen the mark just before it went), keeping the work if it
    can set the mark again. A round that gets nothing done (its events failing to fan out, say)
    ends the task and leaves them to the sweep; a task that ran DISPATCH_ROUNDS rounds hands
    over to a new one.
    """
    pushed = 0
    for _round in range(DISPATCH_ROUNDS):
        ids = events_due()
        if not ids:
            cache.delete(DISPATCH_QUEUED_KEY)
            ids = events_due()
            if not ids or not cache.add(DISPATCH_QUEUED_KEY, event_id, DISPATCH_QUEUED_SECONDS):
                return pushed
        done = events_dispatch(event_ids=ids)
        pushed += done[0]
        if not any(done):
            break
    cache.delete(DISPATCH_QUEUED_KEY)
    return pushed


def events_dispatch(*, event_ids: list[int]) -> tuple[int, int]:
    """Push the given events, then fan them out; returns how many were pushed and fanned out.

    The push goes first, so nothing sits in front of it. The fan-out runs even when the push
    failed (which is raised after it), so e-mail and webhooks do not wait for the channel
    layer; if the fan-out fails, the sweep fans the events out later.
    """
    try:
        pushed = events_deliver(event_ids=event_ids)
    finally:
        try:
            fanned = events_fan_out(event_ids=event_ids)
        except Exception:  # database or broker down: the sweep fans them out
            logger.warning("could not fan out events %s; the sweep will", event_ids, exc_info=True)
            fanned = 0
    return pushed, fanned


def _emails_on() -> bool:
    return bool(settings.NOTIFY_EMAIL_ENABLED)


def events_fan_out(*, event_ids: list[int]) -> int:
    """Write one e-mail delivery per event and customer address, and one webhook delivery per
    event and subscribed active endpoint; queue them after commit. Safe to run twice: an event
    is fanned out once, under its row lock. Returns how many events it fanned out."""
    with transaction.atomic():
        events = list(
            OrderEvent.objects.select_for_update(of=("self",), skip_locked=True)
            .filter(pk__in=event_ids, fanned_out_at__isnull=True)
            .select_related("recipient")
            .order_by("pk")
        )
        if not events:
            return 0
        now = timezone.now()
        endpoints = list(WebhookEndpoint.objects.filter(is_active=True).only("pk", "events"))
        emails = [
            EmailDelivery(event=e, recipient=e.recipient.email, next_attempt_at=now)
            for e in events
            if _emails_on() and e.recipient.email
        ]
        hooks = [
            WebhookDelivery(endpoint=endpoint, event=e, next_attempt_at=now)
            for e in events
            for endpoint in endpoints
            if e.type in endpoint.events
        ]
        # The events are locked and not fanned out yet: none has a delivery (the unique
        # constraints back that up), so the inserts return their keys.
        email_ids = [d.pk for d in EmailDelivery.objects.bulk_create(emails)]
        hook_ids = [d.pk for d in WebhookDelivery.objects.bulk_create(hooks)]
        OrderEvent.objects.filter(pk__in=[e.pk for e in events]).update(fanned_out_at=now)
        transaction.on_commit(lambda: _deliveries_request(email_ids, hook_ids))
    return len(events)


def _deliveries_request(email_ids: list[int], hook_ids: list[int]) -> None:
    """New e-mails go out in a batch (one SMTP connection); each webhook delivery has a task of
    its own, so a slow receiver holds up only itself."""
    if email_ids:
        emails_request()
    deliveries_enqueue(webhooks=hook_ids)


def deliveries_enqueue(*, emails: Sequence[int] = (), webhooks: Sequence[int] = ()) -> None:
    """One task per delivery on the `notify` queue (the sweep's re-queue of lost tasks)."""
    from .tasks import deliver_email, deliver_webhook

    for pk in emails:
        deliver_email.delay(pk)
    for pk in webhooks:
        deliver_webhook.delay(pk)


def events_pending(*, grace: timedelta = SWEEP_GRACE) -> list[int]:
    cutoff = timezone.now() - grace
    return list(
        OrderEvent.objects.filter(
            delivered_at__isnull=True, dead_at__isnull=True, changed_at__lte=cutoff
        )
        .order_by("pk")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )


def events_not_fanned_out(*, grace: timedelta = SWEEP_GRACE) -> list[int]:
    cutoff = timezone.now() - grace
    return list(
        OrderEvent.objects.filter(fanned_out_at__isnull=True, changed_at__lte=cutoff)
        .order_by("pk")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )


def deliveries_overdue() -> tuple[list[int], list[int]]:
    """Pending e-mail and webhook deliveries whose task was lost (or whose sender died holding
    the lease): due for longer than the channel grace."""
    cutoff = timezone.now() - timedelta(seconds=settings.NOTIFY_SWEEP_GRACE_SECONDS)
    emails = EmailDelivery.objects.filter(
        status=DeliveryStatus.PENDING, next_attempt_at__lte=cutoff
    )
    hooks = WebhookDelivery.objects.filter(
        status=DeliveryStatus.PENDING, next_attempt_at__lte=cutoff, endpoint__is_active=True
    )
    return (
        list(emails.order_by("next_attempt_at").values_list("pk", flat=True)[:SWEEP_BATCH]),
        list(hooks.order_by("next_attempt_at").values_list("pk", flat=True)[:SWEEP_BATCH]),
    )


def outbox_sweep() -> dict[str, int]:
    """The beat's periodic pass over every channel: sockets, fan-out, e-mail and webhooks."""
    pending = events_pending()
    fan = events_not_fanned_out()
    fanned = events_fan_out(event_ids=fan) if fan else 0
    emails, hooks = deliveries_overdue()
    deliveries_enqueue(emails=emails, webhooks=hooks)
    pushed = events_deliver(event_ids=pending) if pending else 0
    return {"pushed": pushed, "fanned_out": fanned, "emails": len(emails), "webhooks": len(hooks)}
