"""OrderEvent: the outbox row written with each status change, and the catch-up log."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class OrderEvent(models.Model):
    """One status change of one order, as its owner and the staff are told of it.

    Written in the same transaction as the change, so an event exists exactly when the change
    committed. `delivered_at` stays empty until a task has pushed it to the channel layer; the
    sweep re-sends whatever is still empty.
    """

    order = models.ForeignKey("orders.Order", on_delete=models.CASCADE, related_name="events")
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="order_events"
    )
    old_status = models.CharField(max_length=16)
    new_status = models.CharField(max_length=16)
    changed_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["recipient", "-id"]),
            models.Index(
                fields=["id"],
                name="notif_event_undelivered",
                condition=models.Q(delivered_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"event {self.pk}: order {self.order_id} {self.old_status} -> {self.new_status}"

    def message(self) -> dict[str, object]:
        """The WebSocket payload: msgpack-safe ints and strings only."""
        return {
            "id": self.pk,
            "order_id": self.order_id,
            "old_status": self.old_status,
            "new_status": self.new_status,
            "changed_at": self.changed_at.isoformat(),
        }
