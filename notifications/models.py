"""The order-event outbox, the per-channel delivery state built on it (e-mail, webhooks), and
the durable record of session notices."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.db.models import F
from django.utils import timezone

# Bumped when a payload's shape changes incompatibly; receivers read it from `data.version`.
PAYLOAD_VERSION = 1


class EventType(models.TextChoices):
    ORDER_CREATED = "order.created", "Order created"
    ORDER_STATUS_CHANGED = "order.status_changed", "Order status changed"


class OrderEvent(models.Model):
    """One event of one order (placed, or a status change), as every channel is told of it.

    Written in the same transaction as the change, so an event exists exactly when the change
    committed. `uid` is its stable public id (the webhook-id of every delivery). `delivered_at`
    stays empty until a task has pushed it to the channel layer; `fanned_out_at` until the
    e-mail and webhook deliveries are written; the sweep finishes whatever is still empty.
    After `NOTIFY_SOCKET_MAX_ATTEMPTS` failed pushes the socket delivery is `dead_at`.
    """

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    type = models.CharField(
        max_length=32, choices=EventType.choices, default=EventType.ORDER_STATUS_CHANGED
    )
    order = models.ForeignKey("orders.Order", on_delete=models.CASCADE, related_name="events")
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="order_events"
    )
    old_status = models.CharField(max_length=16)
    new_status = models.CharField(max_length=16)
    changed_at = models.DateTimeField()  # when the event occurred
    payload = models.JSONField(default=dict)
    delivered_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    dead_at = models.DateTimeField(null=True, blank=True)
    fanned_out_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["recipient", "-id"]),
            models.Index(
                fields=["id"],
                name="notif_event_undelivered",
                condition=models.Q(delivered_at__isnull=True),
            ),
            models.Index(
                fields=["id"],
                name="notif_event_not_fanned_out",
                condition=models.Q(fanned_out_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        change = f"{self.old_status or '-'} -> {self.new_status}"
        return f"event {self.pk} {self.type}: order {self.order_id} {change}"

    def message(self) -> dict[str, object]:
        """The WebSocket payload: msgpack-safe ints and strings only."""
        return {
            "id": self.pk,
            "type": self.type,
            "order_id": self.order_id,
            "old_status": self.old_status,
            "new_status": self.new_status,
            "changed_at": self.changed_at.isoformat(),
        }

    def webhook_body(self) -> dict[str, object]:
        """The Standard Webhooks body: {type, timestamp, data}."""
        return {"type": self.type, "timestamp": self.changed_at.isoformat(), "data": self.payload}


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"  # refused for good (a 4xx other than 408/429): not retried
    DEAD = "dead", "Dead"  # every attempt of the schedule failed


class DeliveryQuerySet(models.QuerySet[Any]):
    def claim_due(self, *, limit: int) -> list[int]:
        """Claim the oldest due, pending rows of this queryset, at most `limit`: their next
        attempt moves NOTIFY_LEASE_SECONDS into the future and their attempts count up, committed
        before the caller sends anything, so two senders never send one delivery (rows another
        sender is claiming are skipped). Returns their keys."""
        now = timezone.now()
        with transaction.atomic(using=self.db):
            ids = list(
                self.select_for_update(of=("self",), skip_locked=True)
                .filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
                .order_by("next_attempt_at", "pk")
                .values_list("pk", flat=True)[:limit]
            )
            if ids:
                self.model._default_manager.filter(pk__in=ids).update(
                    next_attempt_at=now + timedelta(seconds=settings.NOTIFY_LEASE_SECONDS),
                    attempts=F("attempts") + 1,
                )
        return ids


class Delivery(models.Model):
    """What every channel's delivery row keeps: its state, its attempts and when to try next."""

    status = models.CharField(
        max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    # Also the lease: a sender claims the row by moving this into the future.
    next_attempt_at = models.DateTimeField()
    last_error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    objects = DeliveryQuerySet.as_manager()

    class Meta:
        abstract = True


class EmailDelivery(Delivery):
    """One e-mail of one event to one address: unique, so a retried task never sends twice."""

    event = models.ForeignKey(OrderEvent, on_delete=models.CASCADE, related_name="emails")
    recipient = models.EmailField()

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "recipient"], name="notif_email_once_per_event_recipient"
            )
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="notif_email_pending",
                condition=models.Q(status="pending"),
            )
        ]

    def __str__(self) -> str:
        return f"e-mail of event {self.event_id} to {self.recipient} ({self.status})"


class WebhookEndpoint(models.Model):
    """A receiver registered by staff: the events it wants and the secret its deliveries carry."""

    url = models.URLField(max_length=2000)
    events = models.JSONField(default=list)
    description = models.CharField(max_length=500, blank=True, default="")
    is_active = models.BooleanField(default=True)
    secret = models.CharField(max_length=100, editable=False)
    consecutive_failures = models.PositiveIntegerField(default=0)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"webhook {self.pk}: {self.url}"


class WebhookDelivery(Delivery):
    """One event to one endpoint, through all its attempts (each kept as a WebhookAttempt)."""

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.ForeignKey(OrderEvent, on_delete=models.CASCADE, related_name="webhooks")
    last_status_code = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["endpoint", "event"], name="notif_webhook_once_per_endpoint_event"
            )
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="notif_webhook_pending",
                condition=models.Q(status="pending"),
            )
        ]

    def __str__(self) -> str:
        return f"delivery {self.pk} of event {self.event_id} to {self.endpoint_id} ({self.status})"


class WebhookAttempt(models.Model):
    """One HTTP request of a delivery: the log staff read."""

    delivery = models.ForeignKey(
        WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log"
    )
    number = models.PositiveIntegerField()
    attempted_at = models.DateTimeField()
    status_code = models.PositiveIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField()
    error = models.TextField(blank=True, default="")
    response_body = models.TextField(blank=True, default="")  # truncated

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"attempt {self.number} of delivery {self.delivery_id}"


class SessionNotice(models.Model):
    """That a user's sessions or rights changed, written in the transaction that changed them.

    The same notice goes to the user's sockets through the channel layer after commit; this row
    is what survives that send being lost (the layer down or restarted empty, a full channel):
    every web process reads its sockets' users' recent notices once a second
    (`notifications.session_watch`). `user_id` is no foreign key: a deletion's notice outlives
    the user. Rows are useful for a minute; the sweep deletes them after an hour.
    """

    user_id = models.BigIntegerField()
    notice = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return f"user {self.user_id}: {self.notice}"
