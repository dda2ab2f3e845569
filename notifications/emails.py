"""E-mail to the order's customer: one message per event and address, sent through Django."""

from __future__ import annotations

import logging
import smtplib
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from .bursts import burst_drain, burst_request
from .models import DeliveryStatus, EmailDelivery, EventType

logger = logging.getLogger(__name__)

# New e-mails are sent in batches over one SMTP connection, by a task queued once per burst of
# fan-outs (notifications.bursts): under load one task sends what many orders wrote.
SEND_QUEUED_KEY = "notifications:emails-queued"
SEND_BATCH = 50
SEND_ROUNDS = 20

SUBJECTS = {
    EventType.ORDER_CREATED: "Order #{order_id} received",
    EventType.ORDER_STATUS_CHANGED: "Order #{order_id} is now {status}",
}


def _retry_delay(attempt: int) -> float:
    # 30 s, 1 min, 2 min, ... capped at an hour.
    return float(min(3600, 30 * 2 ** (attempt - 1)))


def email_message(delivery: EmailDelivery) -> EmailMultiAlternatives:
    event = delivery.event
    context = {"event": event, "data": event.payload, "order_id": event.order_id}
    subject = SUBJECTS[EventType(event.type)].format(
        order_id=event.order_id, status=event.new_status
    )
    text = render_to_string("notifications/email/order_event.txt", context)
    html = render_to_string("notifications/email/order_event.html", context)
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[delivery.recipient],
        headers={"X-Shop-Event-Id": str(event.uid)},
    )
    message.attach_alternative(html, "text/html")
    return message


def _claim(deliveries: Any, *, limit: int) -> list[EmailDelivery]:
    """Claim the oldest due ones (`DeliveryQuerySet.claim_due`) and read them with their
    events."""
    ids = deliveries.claim_due(limit=limit)
    if not ids:
        return []
    return list(EmailDelivery.objects.select_related("event").filter(pk__in=ids).order_by("pk"))


def _failed(delivery: EmailDelivery, exc: Exception) -> str:
    delivery.last_error = f"{type(exc).__name__}: {exc}"[:2000]
    if delivery.attempts >= settings.NOTIFY_EMAIL_MAX_ATTEMPTS:
        delivery.status, delivery.completed_at = DeliveryStatus.DEAD, timezone.now()
        logger.warning("e-mail delivery %s dead: %s", delivery.pk, delivery.last_error)
        delivery.save(update_fields=["status", "completed_at", "last_error"])
        return delivery.status
    delay = _retry_delay(delivery.attempts)
    delivery.next_attempt_at = timezone.now() + timedelta(seconds=delay)
    delivery.save(update_fields=["next_attempt_at", "last_error"])
    from .tasks import deliver_email

    pk = delivery.pk
    transaction.on_commit(lambda: deliver_email.apply_async((pk,), countdown=delay))
    return "retrying"


def _send(deliveries: list[EmailDelivery]) -> dict[int, str]:
    """Send each over one SMTP connection; a failure is recorded on its delivery alone (and the
    connection is opened again for the next). Returns each delivery's outcome."""
    outcomes: dict[int, str] = {}
    sent: list[int] = []
    connection = get_connection(fail_silently=False)
    try:
        for delivery in deliveries:
            try:
                connection.send_messages([email_message(delivery)])
            except (smtplib.SMTPException, OSError) as exc:
                outcomes[delivery.pk] = _failed(delivery, exc)
                connection.close()  # whatever state it was left in: the next send reopens
            else:
                sent.append(delivery.pk)
                outcomes[delivery.pk] = DeliveryStatus.SUCCEEDED
    finally:
        connection.close()
    if sent:
        EmailDelivery.objects.filter(pk__in=sent).update(
            status=DeliveryStatus.SUCCEEDED, completed_at=timezone.now()
        )
    return outcomes


def email_deliver(*, delivery_id: int) -> str:
    """Send one e-mail if it is due and unsent; safe to run twice (the row is claimed first, so
    two tasks never send it at once, and a sent one is never sent again). After
    NOTIFY_EMAIL_MAX_ATTEMPTS failures it is dead. Retries and the sweep come this way."""
    claimed = _claim(EmailDelivery.objects.filter(pk=delivery_id), limit=1)
    if not claimed:
        return "not due"
    return _send(claimed)[delivery_id]


def emails_request() -> None:
    """After new deliveries commit: queue a batch send unless one is queued and not started."""
    from .tasks import send_due_emails

    burst_request(SEND_QUEUED_KEY, send_due_emails)


def emails_send_due() -> int:
    """Send the oldest due e-mails, SEND_BATCH at a time over one connection, until none is due
    (`burst_drain`). Returns how many it tried."""
    tried = 0

    def one_batch() -> int:
        nonlocal tried
        claimed = _claim(EmailDelivery.objects.all(), limit=SEND_BATCH)
        if claimed:
            _send(claimed)
        tried += len(claimed)
        return len(claimed)

    if not burst_drain(SEND_QUEUED_KEY, one_batch, rounds=SEND_ROUNDS):
        emails_request()
    return tried
