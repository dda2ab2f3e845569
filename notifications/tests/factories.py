"""Orders and their events for the notification tests, made through the real services."""

from __future__ import annotations

from typing import Any, cast

from catalog.models import Product
from catalog.tests.factories import ProductFactory
from notifications.models import OrderEvent
from orders.models import Order
from orders.services import order_create, order_status_change


def new_order(*, customer: Any) -> Order:
    """A pending order of one unit of a fresh product, placed as checkout does."""
    product = cast(Product, ProductFactory(stock=5))
    order, _ = order_create(customer=customer, lines=[(product.pk, 1)])
    return order


def change_status(*, order: Order, status: str, by: Any) -> OrderEvent:
    """Change the status through the one service and return the outbox row it wrote."""
    order_status_change(order_id=order.pk, status=status, by=by)
    return OrderEvent.objects.filter(order=order).latest("id")


def placed_event(order: Order) -> OrderEvent:
    """The `order.created` outbox row checkout wrote with the order."""
    return OrderEvent.objects.get(order=order, type="order.created")


def message_of(event: OrderEvent) -> dict[str, Any]:
    """The WebSocket payload clients are promised, spelled out rather than built by the model."""
    return {
        "id": event.pk,
        "type": event.type,
        "order_id": event.order_id,
        "old_status": event.old_status,
        "new_status": event.new_status,
        "changed_at": event.changed_at.isoformat(),
    }
