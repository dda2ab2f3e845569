"""Celery tasks: deliver one event, and the sweep that re-sends anything left undelivered."""

from __future__ import annotations

from celery import shared_task
from redis.exceptions import RedisError

from . import services

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
    return services.events_deliver(event_ids=[event_id])


@shared_task(acks_late=True, autoretry_for=RETRYABLE, retry_backoff=True, max_retries=3)
def sweep_order_events() -> int:
    """Re-send outbox rows whose task was lost (broker down at commit, or retries exhausted)."""
    pending = services.events_pending()
    return services.events_deliver(event_ids=pending) if pending else 0
