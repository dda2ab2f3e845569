"""WebSocket broadcast helper: pushes an order's new status to its owner's group."""

from __future__ import annotations

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from bench.reference.core.models import Order


def notify_order_status(order: Order) -> None:
    channel_layer = get_channel_layer()
    assert channel_layer is not None
    async_to_sync(channel_layer.group_send)(
        f"user_{order.user_id}",
        {"type": "order.status", "order_id": order.pk, "new_status": order.status},
    )
