"""Webhooks: staff-registered endpoints and the signed, retried delivery of events to them."""

from __future__ import annotations

import base64
import json
import logging
import random
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from common.errors import FieldInvalid, NotFound

from . import outbound
from .bursts import burst_drain, burst_request
from .models import (
    DeliveryStatus,
    EventType,
    OrderEvent,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)

logger = logging.getLogger(__name__)

USER_AGENT = "shop-webhooks/1"
RETRYABLE_STATUSES = frozenset({408, 429})
MAX_RETRY_AFTER = timedelta(days=1)
RESEND_LIMIT = 10_000  # events one re-enabling re-sends at most
# New deliveries go out in batches per endpoint, by a task queued once per burst of fan-outs
# for that endpoint (notifications.bursts): under load one task sends what many events wrote,
# and a slow receiver still holds up only its own batch.
SEND_QUEUED_KEY = "notifications:webhooks-queued:{}"
SEND_BATCH = 50
SEND_ROUNDS = 20


def _new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def _check_url(url: str) -> None:
    try:
        outbound.resolve(url, allow_private=settings.WEBHOOK_ALLOW_PRIVATE_URLS)
    except outbound.UrlRefused as exc:
        raise FieldInvalid("url", str(exc), code="webhook_url_refused") from None


def _check_events(events: Iterable[str]) -> list[str]:
    chosen = list(dict.fromkeys(events))
    unknown = [e for e in chosen if e not in EventType.values]
    if not chosen or unknown:
        raise FieldInvalid(
            "events",
            f"Choose one or more of {', '.join(EventType.values)}.",
            code="webhook_events_invalid",
        )
    return chosen


def webhook_endpoint_create(
    *, url: str, events: list[str], description: str = "", is_active: bool = True
) -> WebhookEndpoint:
    """Register an endpoint; its signing secret is on the returned object (shown once)."""
    _check_url(url)
    now = timezone.now()
    return WebhookEndpoint.objects.create(
        url=url,
        events=_check_events(events),
        description=description,
        is_active=is_active,
        secret=_new_secret(),
        disabled_at=None if is_active else now,
    )


def webhook_endpoint_update(*, endpoint_id: int, **changes: Any) -> WebhookEndpoint:
    """Change url/events/description/is_active. Re-enabling an endpoint clears its failure
    count and re-sends what it missed: its pending deliveries, and every subscribed event that
    happened while it was disabled."""
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().filter(pk=endpoint_id).first()
        if endpoint is None:
            raise NotFound(f"Webhook endpoint {endpoint_id} not found.", code="webhook_not_found")
        fields: list[str] = []
        if "url" in changes and changes["url"] != endpoint.url:
            _check_url(changes["url"])
            endpoint.url = changes["url"]
            fields.append("url")
        if "events" in changes:
            endpoint.events = _check_events(changes["events"])
            fields.append("events")
        if "description" in changes:
            endpoint.description = changes["description"]
            fields.append("description")
        missed_since = None
        if "is_active" in changes and changes["is_active"] != endpoint.is_active:
            endpoint.is_active = changes["is_active"]
            if endpoint.is_active:
                missed_since = endpoint.disabled_at
                endpoint.disabled_at, endpoint.disabled_reason = None, ""
                endpoint.consecutive_failures = 0
            else:
                endpoint.disabled_at, endpoint.disabled_reason = (
                    timezone.now(),
                    "Disabled by staff.",
                )
            fields += ["is_active", "disabled_at", "disabled_reason", "consecutive_failures"]
        if fields:
            endpoint.save(update_fields=[*fields, "updated_at"])
        if endpoint.is_active and "is_active" in changes and missed_since is not None:
            _resend_missed(endpoint, since=missed_since)
    return endpoint


def _resend_missed(endpoint: WebhookEndpoint, *, since: datetime) -> None:
    now = timezone.now()
    missed = OrderEvent.objects.filter(
        changed_at__gte=since, type__in=endpoint.events, fanned_out_at__isnull=False
    ).order_by("pk")[:RESEND_LIMIT]
    WebhookDelivery.objects.bulk_create(
        [WebhookDelivery(endpoint=endpoint, event=e, next_attempt_at=now) for e in missed],
        ignore_conflicts=True,
    )
    pending = WebhookDelivery.objects.filter(endpoint=endpoint, status=DeliveryStatus.PENDING)
    pending.update(next_attempt_at=now)
    ids = list(pending.order_by("event_id").values_list("pk", flat=True)[:RESEND_LIMIT])
    transaction.on_commit(lambda: _enqueue(ids))


def webhook_endpoint_delete(*, endpoint_id: int) -> None:
    deleted, _ = WebhookEndpoint.objects.filter(pk=endpoint_id).delete()
    if not deleted:
        raise NotFound(f"Webhook endpoint {endpoint_id} not found.", code="webhook_not_found")


def webhook_delivery_retry(*, endpoint_id: int, delivery_id: int) -> WebhookDelivery:
    """Send one delivery again now, whatever its state, with a fresh attempt budget. (Receivers
    deduplicate by webhook-id, which stays the event's.)"""
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update()
            .filter(pk=delivery_id, endpoint_id=endpoint_id)
            .first()
        )
        if delivery is None:
            raise NotFound(f"Delivery {delivery_id} not found.", code="delivery_not_found")
        delivery.status = DeliveryStatus.PENDING
        delivery.attempts = 0
        delivery.next_attempt_at = timezone.now()
        delivery.completed_at = None
        delivery.save(update_fields=["status", "attempts", "next_attempt_at", "completed_at"])
        transaction.on_commit(lambda: _enqueue([delivery.pk]))
    return delivery


def _enqueue(ids: list[int], countdown: float | None = None) -> None:
    from .tasks import deliver_webhook

    for pk in ids:
        deliver_webhook.apply_async((pk,), countdown=countdown)


# ---- delivery ----------------------------------------------------------------------------


def retry_schedule() -> list[float]:
    """Seconds to wait after attempt 1, 2, ...; its length + 1 is the number of attempts."""
    return [float(s) for s in settings.WEBHOOK_RETRY_SCHEDULE]


def _delay(attempt: int, retry_after: float | None) -> float:
    base = retry_schedule()[attempt - 1]
    # Jitter (+-20%) so deliveries that failed together (a receiver restart) spread out.
    delay = base * random.uniform(0.8, 1.2)  # noqa: S311 - not for security
    if retry_after is not None:
        delay = max(delay, min(retry_after, MAX_RETRY_AFTER.total_seconds()))
    return delay


def sign(*, secret: str, msg_id: str, timestamp: datetime, body: str) -> str:
    return Webhook(secret).sign(msg_id=msg_id, timestamp=timestamp, data=body)


def _claim(deliveries: Any, *, limit: int) -> list[WebhookDelivery]:
    """Claim the oldest due ones of active endpoints (`DeliveryQuerySet.claim_due`: a lease
    that outlives the timeout) and read them with their endpoint and event."""
    ids = deliveries.filter(endpoint__is_active=True).claim_due(limit=limit)
    if not ids:
        return []
    claimed = WebhookDelivery.objects.select_related("endpoint", "event").filter(pk__in=ids)
    return list(claimed.order_by("pk"))


def webhook_deliver(*, delivery_id: int) -> str:
    """Make the next attempt of one delivery, if it is due; safe to run twice (the row is
    claimed first). Retries and the sweep come this way."""
    claimed = _claim(WebhookDelivery.objects.filter(pk=delivery_id), limit=1)
    if not claimed:
        return "not due"
    return _attempt(claimed[0])


def webhooks_request(endpoint_ids: Iterable[int]) -> None:
    """After new deliveries commit: queue a batch send per endpoint, unless one is queued for
    it and not yet started."""
    from .tasks import send_due_webhooks

    for pk in sorted(set(endpoint_ids)):
        burst_request(SEND_QUEUED_KEY.format(pk), send_due_webhooks, pk)


def webhooks_send_due(*, endpoint_id: int) -> int:
    """Attempt one endpoint's oldest due deliveries, SEND_BATCH at a time, until none is due
    (`burst_drain`) or the endpoint is disabled (its deliveries are then no longer claimed).
    Returns how many it attempted."""
    mine = WebhookDelivery.objects.filter(endpoint_id=endpoint_id)
    tried = 0

    def one_batch() -> int:
        nonlocal tried
        claimed = _claim(mine, limit=SEND_BATCH)
        for i, delivery in enumerate(claimed):
            tried += 1
            if _attempt(delivery) == DeliveryStatus.SUCCEEDED:
                continue
            if not WebhookEndpoint.objects.filter(pk=endpoint_id, is_active=True).exists():
                _unclaim(claimed[i + 1 :])  # disabled meanwhile: the rest waits, unattempted
                break
        return len(claimed)

    if not burst_drain(SEND_QUEUED_KEY.format(endpoint_id), one_batch, rounds=SEND_ROUNDS):
        webhooks_request([endpoint_id])
    return tried


def _unclaim(deliveries: list[WebhookDelivery]) -> None:
    if deliveries:
        WebhookDelivery.objects.filter(pk__in=[d.pk for d in deliveries]).update(
            next_attempt_at=timezone.now(), attempts=F("attempts") - 1
        )


def _attempt(delivery: WebhookDelivery) -> str:
    """Send one claimed delivery, signed, and record what happened."""
    endpoint, event = delivery.endpoint, delivery.event
    body = json.dumps(event.webhook_body(), separators=(",", ":"))
    sent_at = timezone.now()
    msg_id = str(event.uid)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": sign(
            secret=endpoint.secret, msg_id=msg_id, timestamp=sent_at, body=body
        ),
    }
    try:
        answer = outbound.post(
            endpoint.url,
            body.encode(),
            headers,
            timeout=settings.WEBHOOK_TIMEOUT_SECONDS,
            allow_private=settings.WEBHOOK_ALLOW_PRIVATE_URLS,
        )
    except outbound.UrlRefused as exc:
        # A name that does not resolve may again; a private address is refused for good.
        answer = outbound.Answer(None, "", f"refused: {exc}", None, 0.0)
        unresolved = isinstance(exc, outbound.HostUnresolved)
        return _record(delivery, answer, sent_at, retryable=unresolved)
    retryable = answer.status is None or answer.status >= 500 or answer.status in RETRYABLE_STATUSES
    return _record(delivery, answer, sent_at, retryable=retryable)


def _record(
    delivery: WebhookDelivery, answer: outbound.Answer, sent_at: datetime, *, retryable: bool
) -> str:
    ok = answer.status is not None and 200 <= answer.status < 300
    now = timezone.now()
    WebhookAttempt.objects.create(
        delivery=delivery,
        number=delivery.attempts,
        attempted_at=sent_at,
        status_code=answer.status,
        duration_ms=int(answer.seconds * 1000),
        error=answer.error or ("" if ok else f"HTTP {answer.status}"),
        response_body=answer.body,
    )
    delivery.last_status_code = answer.status
    delivery.last_error = "" if ok else (answer.error or f"HTTP {answer.status}")
    retry_in: float | None = None
    if ok:
        delivery.status, delivery.completed_at = DeliveryStatus.SUCCEEDED, now
    elif not retryable:
        delivery.status, delivery.completed_at = DeliveryStatus.FAILED, now
    elif delivery.attempts > len(retry_schedule()):
        delivery.status, delivery.completed_at = DeliveryStatus.DEAD, now
    else:
        retry_in = _delay(delivery.attempts, answer.retry_after)
        delivery.next_attempt_at = now + timedelta(seconds=retry_in)
    delivery.save(
        update_fields=[
            "status",
            "completed_at",
            "next_attempt_at",
            "last_status_code",
            "last_error",
        ]
    )
    _count(delivery.endpoint, ok=ok, error=delivery.last_error)
    if retry_in is not None:
        countdown = retry_in
        transaction.on_commit(lambda: _enqueue([delivery.pk], countdown=countdown))
    return delivery.status


def _count(endpoint: WebhookEndpoint, *, ok: bool, error: str) -> None:
    """Consecutive failed attempts per endpoint; past WEBHOOK_DISABLE_AFTER it is disabled."""
    endpoints = WebhookEndpoint.objects.filter(pk=endpoint.pk)
    if ok:
        if endpoint.consecutive_failures:
            endpoints.filter(consecutive_failures__gt=0).update(consecutive_failures=0)
        return
    endpoints.update(consecutive_failures=F("consecutive_failures") + 1)
    limit = settings.WEBHOOK_DISABLE_AFTER
    disabled = endpoints.filter(is_active=True, consecutive_failures__gte=limit).update(
        is_active=False,
        disabled_at=timezone.now(),
        disabled_reason=f"Disabled after {limit} consecutive failed attempts; last: {error}"[:500],
    )
    if disabled:
        logger.warning("webhook endpoint %s disabled after %d failures", endpoint.pk, limit)
