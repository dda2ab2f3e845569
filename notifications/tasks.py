"""Celery tasks: push one event and fan it out, deliver one e-mail or webhook, and the sweep."""

from __future__ import annotations

from celery import shared_task
from redis.exceptions import RedisError

from . import emails, services, webhooks

RETRYABLE = (RedisError, OSError, ConnectionError, TimeoutError)


@shared_task(
    acks_late=True,
    autoretry_for=RETRYABLE,
    retry_backoff=True,
    retry_backoff_max=30,
    retry_jitter=True,
    max_retries=20,
)
def deliver_order_event(event_id: int) -> int:
    return services.event_process(event_id=event_id)


# The four below run on the `notify` queue (CELERY_TASK_ROUTES). Their retries are not Celery's:
# each delivery row keeps its attempts and next attempt time, and re-queues itself; the sweep
# re-queues any whose task was lost.


@shared_task(acks_late=True)
def deliver_email(delivery_id: int) -> str:
    return emails.email_deliver(delivery_id=delivery_id)


@shared_task(acks_late=True)
def send_due_emails() -> int:
    return emails.emails_send_due()


@shared_task(acks_late=True)
def deliver_webhook(delivery_id: int) -> str:
    return webhooks.webhook_deliver(delivery_id=delivery_id)


@shared_task(acks_late=True)
def send_due_webhooks(endpoint_id: int) -> int:
    return webhooks.webhooks_send_due(endpoint_id=endpoint_id)


@shared_task(acks_late=True, autoretry_for=RETRYABLE, retry_backoff=True, max_retries=3)
def sweep_order_events() -> dict[str, int]:
    """Re-send what a lost task left behind, on every channel (broker down at commit, a worker
    killed mid-delivery, retries exhausted)."""
    return services.outbox_sweep()
