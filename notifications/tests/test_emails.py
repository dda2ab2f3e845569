"""E-mail deliveries, sent through Django's SMTP backend to a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection

from accounts.tests.factories import UserFactory
from conftest import fullstack
from notifications import emails, services
from notifications.models import EmailDelivery

from .factories import change_status, new_order, placed_event
from .receivers import Mailbox, smtp_server

pytestmark = pytest.mark.django_db


@pytest.fixture
def mailbox(settings: Any) -> Iterator[Mailbox]:
    with smtp_server() as (box, port):
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
        settings.EMAIL_USE_TLS = False
        settings.DEFAULT_FROM_EMAIL = "shop@example.com"
        yield box


def test_the_customer_gets_one_mail_per_event_in_text_and_html(customer, staff, mailbox):
    order = new_order(customer=customer)
    placed = placed_event(order)
    changed = change_status(order=order, status="shipped", by=staff)
    services.events_fan_out(event_ids=[placed.pk, changed.pk])
    deliveries = list(EmailDelivery.objects.order_by("event_id"))
    assert [(d.event_id, d.recipient) for d in deliveries] == [
        (placed.pk, customer.email),
        (changed.pk, customer.email),
    ]

    for delivery in deliveries:
        assert emails.email_deliver(delivery_id=delivery.pk) == "succeeded"
        assert emails.email_deliver(delivery_id=delivery.pk) == "not due"  # a retried task
    services.events_fan_out(event_ids=[placed.pk, changed.pk])  # a fan-out run twice
    assert EmailDelivery.objects.count() == 2

    assert mailbox.envelopes == [("shop@example.com", [customer.email])] * 2
    first, second = mailbox.messages
    assert first["Subject"] == f"Order #{order.pk} received"
    assert second["Subject"] == f"Order #{order.pk} is now shipped"
    assert first["X-Shop-Event-Id"] == str(placed.uid)
    parts = {
        p.get_content_type(): p.get_payload(decode=True).decode()
        for p in first.walk()
        if not p.is_multipart()
    }
    assert f"Thank you for your order #{order.pk}." in parts["text/plain"]
    assert f"Total: {order.total}" in parts["text/plain"]
    assert f"<strong>#{order.pk}</strong>" in parts["text/html"]
    text = next(p for p in second.walk() if p.get_content_type() == "text/plain")
    assert "changed from pending to shipped" in text.get_payload(decode=True).decode()


def test_an_smtp_server_that_is_down_is_retried_then_dead(customer, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9  # nothing listens there
    settings.NOTIFY_EMAIL_MAX_ATTEMPTS = 2
    placed = placed_event(new_order(customer=customer))
    services.events_fan_out(event_ids=[placed.pk])
    delivery = EmailDelivery.objects.get()

    assert emails.email_deliver(delivery_id=delivery.pk) == "retrying"
    EmailDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=delivery.created_at)
    assert emails.email_deliver(delivery_id=delivery.pk) == "dead"

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("dead", 2)
    assert "ConnectionRefusedError" in delivery.last_error


def test_no_mail_without_an_address(customer):
    customer.email = ""
    customer.save(update_fields=["email"])
    placed = placed_event(new_order(customer=customer))

    services.events_fan_out(event_ids=[placed.pk])

    assert EmailDelivery.objects.count() == 0


@fullstack
@pytest.mark.django_db(transaction=True)
def test_racing_batch_senders_and_retried_tasks_send_every_mail_once(mailbox):
    """Real threads on PostgreSQL: three batch senders and the one-delivery task (retries, the
    sweep) claim the same deliveries at once; each e-mail reaches the server once."""
    customer = UserFactory()
    events = [placed_event(new_order(customer=customer)) for _ in range(30)]
    services.events_fan_out(event_ids=[e.pk for e in events])
    ids = list(EmailDelivery.objects.order_by("pk").values_list("pk", flat=True))
    start = threading.Barrier(4)
    errors: list[BaseException] = []

    def racer(work: Callable[[], object]) -> threading.Thread:
        def run() -> None:
            try:
                start.wait(timeout=10)
                work()
            except BaseException as exc:
                errors.append(exc)
            finally:
                connection.close()

        return threading.Thread(target=run)

    threads = [
        *(racer(emails.emails_send_due) for _ in range(3)),
        racer(lambda: [emails.email_deliver(delivery_id=pk) for pk in ids]),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert errors == []
    assert sorted(m["X-Shop-Event-Id"] for m in mailbox.messages) == sorted(
        str(e.uid) for e in events
    )
    assert set(EmailDelivery.objects.values_list("status", "attempts")) == {("succeeded", 1)}
    cache.delete(emails.SEND_QUEUED_KEY)
