"""Demo orders in every status, placed and moved by the real services (stock, ledger, events)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from catalog.models import Product
from orders.models import Order, OrderStatus
from orders.services import order_create, order_status_change

CUSTOMER = "demo_customer"
# Each demo order's path through the transition table, from pending.
PATHS: list[list[str]] = [
    [],
    [OrderStatus.PROCESSING],
    [OrderStatus.PROCESSING, OrderStatus.SHIPPED],
    [OrderStatus.PROCESSING, OrderStatus.SHIPPED, OrderStatus.DELIVERED],
    [OrderStatus.CANCELLED],
]


class Command(BaseCommand):
    help = (
        f"Place a few orders for the customer '{CUSTOMER}' (who cannot sign in) and move them "
        "to each status, so the admin and /live/ have something to show. Runs once: "
        "nothing is added when that customer already has orders."
    )

    def handle(self, *args: Any, **opts: Any) -> None:
        # No e-mail address: the demo's dozen order events send no mail.
        customer, created = User.objects.get_or_create(username=CUSTOMER, defaults={"email": ""})
        if created:
            customer.set_unusable_password()
            customer.save(update_fields=["password"])
        if Order.objects.filter(customer=customer).exists():
            self.stdout.write(f"Demo orders: already there for '{CUSTOMER}'.")
            return
        products = list(
            Product.objects.filter(is_active=True, stock__gte=3).order_by("id")[: len(PATHS) * 2]
        )
        if len(products) < len(PATHS) * 2:
            raise CommandError("Load the demo catalog first: manage.py load_demo_catalog")
        staff = User.objects.filter(is_staff=True).order_by("id").first()
        for n, path in enumerate(PATHS):
            lines = [(products[2 * n].pk, 1), (products[2 * n + 1].pk, 2)]
            order, _ = order_create(customer=customer, lines=lines)
            for status in path:
                order_status_change(order_id=order.pk, status=status, by=staff or customer)
        self.stdout.write(
            self.style.SUCCESS(f"Demo orders: {len(PATHS)} for '{CUSTOMER}', one in each status.")
        )
