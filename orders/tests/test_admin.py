"""The order admin: its status field goes through the order service, and refuses what it refuses."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.admin.models import LogEntry
from django.test import Client
from django.urls import reverse

from accounts.tests.factories import StaffFactory
from notifications.models import OrderEvent
from orders.models import Order, OrderStatusChange
from orders.services import order_status_change
from orders.tests.conftest import world
from orders.tests.factories import place_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_user(db: Any) -> Any:
    return StaffFactory(is_superuser=True)


@pytest.fixture
def admin_client(admin_user: Any) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


def change_form_data(client: Client, order: Order, status: str) -> dict[str, Any]:
    """What the browser posts: the status plus the inlines' management and id fields."""
    page = client.get(reverse("admin:orders_order_change", args=[order.pk]))
    assert page.status_code == 200
    data: dict[str, Any] = {"status": status}
    for inline in page.context["inline_admin_formsets"]:
        formset = inline.formset
        management = formset.management_form
        data.update({management.add_prefix(k): v for k, v in management.initial.items()})
        for form in formset.forms:
            data[form.add_prefix("id")] = form.instance.pk
            data[form.add_prefix(formset.fk.name)] = order.pk
    return data


def test_admin_status_change_goes_through_the_service(admin_client, admin_user, customer, product):
    order = place_order(customer=customer, lines=[(product, 3)])
    url = reverse("admin:orders_order_change", args=[order.pk])

    response = admin_client.post(url, change_form_data(admin_client, order, "cancelled"))

    assert response.status_code == 302
    assert response["Location"] == reverse("admin:orders_order_changelist")
    order.refresh_from_db()
    assert order.status == "cancelled"
    product.refresh_from_db()
    assert product.stock == 10  # the service gave the stock back
    assert list(
        OrderStatusChange.objects.filter(order=order).values_list(
            "from_status", "to_status", "changed_by"
        )
    ) == [("", "pending", customer.pk), ("pending", "cancelled", admin_user.pk)]
    event = OrderEvent.objects.get(order=order, type="order.status_changed")
    assert (event.recipient_id, event.old_status, event.new_status) == (
        customer.pk,
        "pending",
        "cancelled",
    )


def test_admin_saving_without_a_status_change_records_nothing(admin_client, customer, product):
    order = place_order(customer=customer, lines=[(product, 1)])
    before = world()

    response = admin_client.post(
        reverse("admin:orders_order_change", args=[order.pk]),
        change_form_data(admin_client, order, "pending"),
    )

    assert response.status_code == 302
    assert world() == before


@pytest.mark.parametrize(("old", "new"), [("delivered", "cancelled"), ("shipped", "pending")])
def test_admin_invalid_transition_is_a_form_error(
    admin_client, admin_user, customer, product, old, new
):
    order = place_order(customer=customer, lines=[(product, 2)])
    order_status_change(order_id=order.pk, status=old, by=admin_user)
    url = reverse("admin:orders_order_change", args=[order.pk])
    data = change_form_data(admin_client, order, new)
    before = world()

    response = admin_client.post(url, data)

    assert response.status_code == 200
    # The order service refused it: its word is the form's error, and nothing was logged.
    assert response.context["adminform"].form.errors == {
        "__all__": [f"Order {order.pk} cannot change from '{old}' to '{new}'."]
    }
    assert not LogEntry.objects.exists()
    assert world() == before


def test_admin_cannot_add_orders(admin_client):
    response = admin_client.get(reverse("admin:orders_order_add"))

    assert response.status_code == 403


def test_admin_change_page_needs_staff(client, customer, product):
    order = place_order(customer=customer, lines=[(product, 1)])
    client.force_login(customer)

    response = client.get(reverse("admin:orders_order_change", args=[order.pk]))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


@pytest.mark.parametrize(
    ("model", "shown"),
    [("orderstatuschange", "1 order status change"), ("orderitem", "1 order item")],
)
def test_history_and_lines_are_listed_read_only(admin_client, customer, product, model, shown):
    place_order(customer=customer, lines=[(product, 1)])

    listing = admin_client.get(f"/admin/orders/{model}/")
    add = admin_client.get(f"/admin/orders/{model}/add/")

    assert listing.status_code == 200
    assert shown in listing.content.decode()
    assert add.status_code == 403
