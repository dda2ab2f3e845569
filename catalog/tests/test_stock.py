"""The stock ledger: `check_stock`, the admin's product page and stock adjustments, and the
invariant stock == sum of movements after sales, cancellations and staff changes."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.contrib.admin.models import LogEntry
from django.core.management import CommandError, call_command
from django.db.models import Sum
from django.test import Client
from django.urls import reverse

from accounts.tests.factories import StaffFactory
from catalog import stock
from catalog.models import Product, StockMovement
from catalog.tests.conftest import catalog_snapshot, new_product
from orders.services import order_cancel
from orders.tests.factories import place_order

pytestmark = pytest.mark.django_db


def ledger_sum(product: Product) -> int:
    return int(StockMovement.objects.filter(product=product).aggregate(s=Sum("delta"))["s"] or 0)


@pytest.fixture
def admin_user(db: Any) -> Any:
    return StaffFactory(is_superuser=True)


@pytest.fixture
def admin_client(admin_user: Any) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


# --- the invariant and check_stock -------------------------------------------------------------


def test_sales_cancellations_and_staff_changes_keep_stock_equal_to_the_ledger(
    customer: Any, staff: Any
) -> None:
    lamp, bulb = new_product(stock=10), new_product(stock=50)
    kept = place_order(customer=customer, lines=[(lamp, 2), (bulb, 5)])
    cancelled = place_order(customer=customer, lines=[(lamp, 3)])
    order_cancel(order_id=cancelled.pk, by=customer)
    stock.stock_adjust(product_id=bulb.pk, delta=-7, reason="damaged", by=staff)
    stock.stock_count(product_id=lamp.pk, quantity=4, reason="count", by=staff)

    for product in (lamp, bulb):
        product.refresh_from_db()
    assert (lamp.stock, bulb.stock) == (4, 38)
    assert (ledger_sum(lamp), ledger_sum(bulb)) == (4, 38)
    assert list(
        StockMovement.objects.filter(product=lamp)
        .order_by("pk")
        .values_list("kind", "delta", "stock_after", "order_id")
    ) == [
        ("opening", 10, 10, None),
        ("sale", -2, 8, kept.pk),
        ("sale", -3, 5, cancelled.pk),
        ("cancellation", 3, 8, cancelled.pk),
        ("count", -4, 4, None),
    ]


def test_check_stock_passes_when_every_product_matches_its_ledger(customer: Any) -> None:
    product = new_product(stock=10)
    place_order(customer=customer, lines=[(product, 4)])
    out = StringIO()
    call_command("check_stock", "--no-progress", stdout=out)
    assert out.getvalue() == "Stock matches the ledger for all 1 products.\n"


def test_check_stock_names_the_products_that_break_it_and_fails() -> None:
    good = new_product(name="Good", stock=10)
    bad = new_product(name="Tampered", stock=10)
    unledgered = Product.objects.create(
        category=good.category, name="Bypassed", slug="bypassed", price=1, stock=3
    )
    Product.objects.filter(pk=bad.pk).update(stock=12)  # a write that bypassed catalog.stock
    err = StringIO()
    with pytest.raises(CommandError) as exc:
        call_command("check_stock", "--no-progress", "--batch", "1", stderr=err)
    assert str(exc.value) == (
        "2 of 3 products have stock that is not the sum of their stock movements."
    )
    assert err.getvalue() == (
        f"product {bad.pk} (Tampered): stock 12, ledger sum 10 (difference +2)\n"
        f"product {unledgered.pk} (Bypassed): stock 3, ledger sum 0 (difference +3)\n"
    )


# --- the admin ------------------------------------------------------------------------------------


def _product_form(client: Client, product: Product, **changes: Any) -> dict[str, Any]:
    """What the browser posts from the product's change page as it was loaded."""
    page = client.get(reverse("admin:catalog_product_change", args=[product.pk]))
    assert page.status_code == 200
    form = page.context["adminform"].form
    data = {name: form[name].value() for name in form.fields}
    data = {k: ("" if v is None else v) for k, v in data.items()}
    data["is_active"] = "on" if data["is_active"] else ""
    return {**data, **changes}


def test_the_admin_shows_stock_read_only_with_recent_movements(
    admin_client: Client, customer: Any
) -> None:
    product = new_product(stock=10)
    order = place_order(customer=customer, lines=[(product, 3)])
    page = admin_client.get(reverse("admin:catalog_product_change", args=[product.pk]))
    assert page.status_code == 200
    assert "stock" not in page.context["adminform"].form.fields
    html = page.content.decode()
    assert f"order #{order.pk}" in html
    assert reverse("admin:catalog_stockmovement_add") + f"?product={product.pk}" in html


def test_a_stale_admin_page_saved_after_sales_leaves_them_sold(
    admin_client: Client, customer: Any
) -> None:
    product = new_product(stock=2000, description="Old words.")
    data = _product_form(admin_client, product, description="New words.")  # page opened
    for _ in range(5):
        place_order(customer=customer, lines=[(product, 1)])

    response = admin_client.post(reverse("admin:catalog_product_change", args=[product.pk]), data)

    assert response.status_code == 302
    product.refresh_from_db()
    assert (product.description, product.stock, product.version) == ("New words.", 1995, 2)
    assert ledger_sum(product) == 1995


def test_an_admin_page_saved_after_another_edit_is_refused(admin_client: Client) -> None:
    product = new_product(name="Lamp")
    data = _product_form(admin_client, product, name="Stale lamp")
    Product.objects.filter(pk=product.pk).update(name="Edited lamp", version=2)
    before = catalog_snapshot()

    response = admin_client.post(reverse("admin:catalog_product_change", args=[product.pk]), data)

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "__all__": [
            f"Product {product.pk} was changed since you read it (If-Match no longer matches "
            "its ETag); fetch it again and reapply your change."
        ]
    }
    assert catalog_snapshot() == before
    assert not LogEntry.objects.exists()


def test_adding_a_product_in_the_admin_opens_its_ledger(admin_client: Client) -> None:
    category = new_product().category
    response = admin_client.post(
        reverse("admin:catalog_product_add"),
        {
            "name": "Desk Lamp",
            "category": category.pk,
            "description": "",
            "price": "12.50",
            "is_active": "on",
            "stock": "7",
        },
    )
    assert response.status_code == 302
    product = Product.objects.get(name="Desk Lamp")
    assert (product.slug, product.stock, ledger_sum(product)) == ("desk-lamp", 7, 7)


@pytest.mark.parametrize(
    ("operation", "amount", "stock_after"), [("delta", -4, 6), ("delta", 5, 15), ("set", 3, 3)]
)
def test_the_admin_adjusts_stock_through_the_ledger(
    admin_client: Client, admin_user: Any, operation: str, amount: int, stock_after: int
) -> None:
    product = new_product(stock=10)
    response = admin_client.post(
        reverse("admin:catalog_stockmovement_add"),
        {"product": product.pk, "operation": operation, "amount": amount, "reason": "count"},
    )
    assert response.status_code == 302
    movement = StockMovement.objects.exclude(kind="opening").get()
    assert (movement.stock_after, movement.created_by_id, movement.reason) == (
        stock_after,
        admin_user.pk,
        "count",
    )
    product.refresh_from_db()
    assert product.stock == stock_after == ledger_sum(product)
    assert LogEntry.objects.get().object_id == str(movement.pk)


def test_an_admin_adjustment_below_zero_is_a_form_error(admin_client: Client) -> None:
    product = new_product(name="Lamp", stock=3)
    before = catalog_snapshot()
    response = admin_client.post(
        reverse("admin:catalog_stockmovement_add"),
        {"product": product.pk, "operation": "delta", "amount": -4, "reason": "loss"},
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "__all__": [
            f"Stock of 'Lamp' (product {product.pk}) cannot go below zero: it is 3, the change "
            "would make it -1."
        ]
    }
    assert catalog_snapshot() == before


def test_movements_cannot_be_edited_or_deleted_in_the_admin(
    admin_client: Client, customer: Any
) -> None:
    product = new_product(stock=10)
    place_order(customer=customer, lines=[(product, 1)])
    movement = StockMovement.objects.get(kind="sale")
    change = reverse("admin:catalog_stockmovement_change", args=[movement.pk])
    delete = reverse("admin:catalog_stockmovement_delete", args=[movement.pk])
    before = catalog_snapshot()
    assert admin_client.get(change).status_code == 200  # view only
    assert admin_client.post(change, {"reason": "edited"}).status_code == 403
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    assert catalog_snapshot() == before
