"""E-mail to the order's customer: one message per event and address, sent through Django."""

from __future__ import annotations

import logging
import smtplib
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.utils import timezone

from .models import DeliveryStatus, EmailDelivery, EventType

logger = logging.getLogger(__name__)

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


def email_deliver(*, delivery_id: int) -> str:
    """Send one e-mail if it is due and unsent; safe to run twice (the row is claimed by moving
    its next attempt into the future, so two tasks never send it at once, and a sent one is
    never sent again). After NOTIFY_EMAIL_MAX_ATTEMPTS failures it is dead."""
    now = timezone.now()
    claimed = EmailDelivery.objects.filter(
        pk=delivery_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=now
    ).update(
        next_attempt_at=now + timedelta(seconds=settings.NOTIFY_LEASE_SECONDS),
        attempts=F("attempts") + 1,
    )
    if not claimed:
        return "not due"
    delivery = EmailDelivery.objects.select_related("event").get(pk=delivery_id)
    try:
        email_message(delivery).send(fail_silently=False)
    except (smtplib.SMTPException, OSError) as exc:
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

        transaction.on_commit(lambda: deliver_email.apply_async((delivery.pk,), countdown=delay))
        return "retrying"
    delivery.status, delivery.completed_at = DeliveryStatus.SUCCEEDED, timezone.now()
    delivery.save(update_fields=["status", "completed_at"])
    return delivery.status
