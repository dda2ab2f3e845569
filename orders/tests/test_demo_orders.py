"""`load_demo_orders` leaves one order in each status, through the services, and runs once."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounts.models import User
from catalog.models import StockMovement
from notifications.models import EmailDelivery, OrderEvent
from orders.models import Order

pytestmark = pytest.mark.django_db


def run() -> str:
    out = StringIO()
    call_command("load_demo_orders", stdout=out)
    return out.getvalue()


def test_one_order_in_each_status_then_nothing_twice() -> None:
    call_command("load_demo_catalog", "--no-progress", stdout=StringIO())
    assert "5 for 'demo_customer'" in run()
    customer = User.objects.get(username="demo_customer")
    assert (customer.has_usable_password(), customer.email) == (False, "")
    assert not EmailDelivery.objects.exists()
    orders = Order.objects.filter(customer=customer).order_by("id")
    assert [o.status for o in orders] == [
        "pending",
        "processing",
        "shipped",
        "delivered",
        "cancelled",
    ]
    sales = StockMovement.objects.filter(kind="sale", order__in=orders)
    returns = StockMovement.objects.filter(kind="cancellation", order__in=orders)
    assert (sales.count(), returns.count()) == (10, 2)
    # One order.created each, and one order.status_changed per move.
    assert OrderEvent.objects.filter(order__in=orders).count() == 5 + 1 + 2 + 3 + 1

    assert "already there" in run()
    assert Order.objects.count() == 5


def test_refused_without_a_catalog() -> None:
    with pytest.raises(CommandError, match="load_demo_catalog"):
        run()
    assert Order.objects.count() == 0
