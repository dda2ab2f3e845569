"""Catalog services: slugs, money, conflicts, and the invariants the database itself enforces."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from accounts.tests.factories import new_user
from catalog import services
from catalog.models import Category, Product
from catalog.tests.conftest import catalog_snapshot, new_category, new_product
from common.errors import Conflict, InvalidInput
from orders.services import order_create


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Home & Garden", "home-garden"),
        ("  Café Crème  ", "cafe-creme"),
        ("!!!", "category"),  # nothing sluggable left: fall back to the model name
        ("x" * 120, "x" * 120),
    ],
)
def test_category_create_makes_a_slug_from_the_name(name: str, slug: str) -> None:
    category = services.category_create(name=name)
    category.refresh_from_db()
    assert category.slug == slug


@pytest.mark.django_db
def test_slug_suffixes_skip_the_ones_taken() -> None:
    new_category(name="Lamps", slug="lamps")
    new_category(name="Lamps 2", slug="lamps-2")
    new_category(name="Lamps Shades", slug="lamps-shades")  # shares the prefix only
    assert services.category_create(name="LAMPS!").slug == "lamps-3"


@pytest.mark.django_db
def test_category_create_refuses_a_name_in_another_case() -> None:
    new_category(name="Kitchen")
    before = catalog_snapshot()
    with pytest.raises(Conflict) as exc:
        services.category_create(name="KITCHEN")
    assert (exc.value.status, exc.value.code) == (409, "category_exists")
    assert catalog_snapshot() == before


@pytest.mark.django_db
def test_category_update_may_keep_its_own_name_and_slug() -> None:
    category = new_category(name="Kitchen", slug="kitchen")
    services.category_update(category=category, data={"name": "Kitchen", "slug": "kitchen"})
    category.refresh_from_db()
    assert (category.name, category.slug) == ("Kitchen", "kitchen")


@pytest.mark.django_db
def test_category_update_refuses_another_categorys_slug() -> None:
    new_category(slug="garden")
    category = new_category(name="Kitchen", slug="kitchen")
    with pytest.raises(Conflict) as exc:
        services.category_update(category=category, data={"slug": "garden"})
    assert exc.value.code == "slug_taken"
    category.refresh_from_db()
    assert category.slug == "kitchen"


@pytest.mark.django_db
def test_category_delete_refuses_a_category_with_products() -> None:
    product = new_product()
    with pytest.raises(Conflict) as exc:
        services.category_delete(category=product.category)
    assert (exc.value.status, exc.value.code) == (409, "category_in_use")
    assert Category.objects.filter(pk=product.category.pk).exists()


@pytest.mark.django_db
def test_product_create_rounds_the_price_to_cents_and_makes_a_slug() -> None:
    category = new_category()
    product = services.product_create(
        name="Desk Lamp", price="12.5", stock=3, category_id=category.pk
    )
    product.refresh_from_db()
    assert product.price == Decimal("12.50")
    assert str(product.price) == "12.50"
    assert product.slug == "desk-lamp"
    assert (product.description, product.is_active) == ("", True)


@pytest.mark.django_db
def test_product_create_refuses_an_unknown_category() -> None:
    with pytest.raises(InvalidInput) as exc:
        services.product_create(name="Lamp", price="1", stock=1, category_id=999999)
    assert (exc.value.status, exc.value.code) == (400, "unknown_category")
    assert not Product.objects.exists()


@pytest.mark.django_db
def test_product_update_keeps_the_slug_unless_the_name_changes() -> None:
    product = new_product(name="Desk Lamp", slug="desk-lamp")
    services.product_update(product=product, data={"price": Decimal("3")})
    product.refresh_from_db()
    assert (product.slug, product.stock, product.price) == ("desk-lamp", 10, Decimal("3.00"))
    services.product_update(product=product, data={"name": "Desk LAMP"})
    product.refresh_from_db()
    # Its own slug is not "taken": a rename that slugifies the same keeps it without a suffix.
    assert (product.name, product.slug) == ("Desk LAMP", "desk-lamp")
    services.product_update(product=product, data={"name": "Reading Lamp"})
    product.refresh_from_db()
    assert product.slug == "reading-lamp"


@pytest.mark.django_db
def test_product_update_with_an_unknown_category_changes_nothing() -> None:
    product = new_product(name="Desk Lamp", slug="desk-lamp")
    before = catalog_snapshot()
    with pytest.raises(InvalidInput):
        services.product_update(product=product, data={"name": "Other", "category_id": 999999})
    assert catalog_snapshot() == before


@pytest.mark.django_db
def test_product_delete_refuses_a_product_that_was_ordered() -> None:
    product = new_product(stock=5)
    order_create(customer=new_user(), lines=[(product.pk, 2)])
    before = catalog_snapshot()
    with pytest.raises(Conflict) as exc:
        services.product_delete(product=product)
    assert (exc.value.status, exc.value.code) == (409, "product_in_use")
    assert catalog_snapshot() == before


@pytest.mark.django_db
def test_product_delete_removes_an_unordered_product() -> None:
    product = new_product()
    services.product_delete(product=product)
    assert not Product.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "changes",
    [{"stock": -1}, {"price": Decimal("0.00")}, {"price": Decimal("-5.00")}],
    ids=["negative-stock", "zero-price", "negative-price"],
)
def test_the_database_refuses_broken_products(changes: dict[str, object]) -> None:
    # Services validate first; the CHECK constraints hold for any other writer (admin, shell, F()).
    product = new_product()
    with pytest.raises(IntegrityError), transaction.atomic():
        Product.objects.filter(pk=product.pk).update(**changes)
    product.refresh_from_db()
    assert (product.stock, product.price) == (10, Decimal("10.00"))


@pytest.mark.django_db
def test_the_database_refuses_duplicate_slugs() -> None:
    new_product(slug="lamp")
    with pytest.raises(IntegrityError), transaction.atomic():
        new_product(slug="lamp")
    assert Product.objects.count() == 1
