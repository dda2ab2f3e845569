"""Product writes: staff-only create, PUT, PATCH and DELETE, refusals that change nothing."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from catalog.models import Category, Product
from catalog.tests.conftest import (
    Caller,
    catalog_snapshot,
    new_category,
    new_product,
    product_body,
    writers,
)
from conftest import ApiClient, validation_error, without_pydantic_wording
from orders.services import order_create

# --- products: writes ---------------------------------------------------------------------


@pytest.fixture
def kitchen(db: Any) -> Category:
    return new_category(name="Kitchen", slug="kitchen")


def _lamp(category: Category, **changes: Any) -> dict[str, Any]:
    """A product body as PUT takes it (POST adds the opening stock)."""
    return {
        "name": "Desk Lamp",
        "description": "Warm light.",
        "price": "12.5",
        "category_id": category.pk,
        **changes,
    }


def _new_lamp(category: Category, **changes: Any) -> dict[str, Any]:
    return _lamp(category, **{"stock": 3, **changes})


@pytest.mark.django_db
@writers
def test_create_product(caller: Caller, kitchen: Category) -> None:
    before = catalog_snapshot()
    response = caller.api.post("/api/products/", _new_lamp(kitchen))
    if caller.refusal:
        caller.assert_refused(response, before)
        return
    assert response.status_code == 201
    product = Product.objects.get()
    assert response.json() == product_body(product)
    body = response.json()
    assert (body["name"], body["slug"], body["price"], body["stock"]) == (
        "Desk Lamp",
        "desk-lamp",
        "12.50",
        3,
    )
    assert body["is_active"] is True
    assert body["category"] == {"id": kitchen.pk, "name": "Kitchen"}
    assert product.price == Decimal("12.50")


@pytest.mark.django_db
def test_a_price_sent_as_a_number_is_stored_exactly(
    staff_api: ApiClient, kitchen: Category
) -> None:
    response = staff_api.post("/api/products/", _new_lamp(kitchen, price=7.1))
    assert response.status_code == 201
    assert response.json()["price"] == "7.10"
    assert Product.objects.get().price == Decimal("7.10")


@pytest.mark.django_db
def test_product_slugs_are_made_unique(staff_api: ApiClient, kitchen: Category) -> None:
    slugs = [
        staff_api.post("/api/products/", _new_lamp(kitchen, name=name)).json()["slug"]
        for name in ("Desk Lamp", "Desk lamp", "Desk  LAMP!")
    ]
    assert slugs == ["desk-lamp", "desk-lamp-2", "desk-lamp-3"]


@pytest.mark.django_db
def test_an_unknown_category_id_is_a_400(staff_api: ApiClient, kitchen: Category) -> None:
    before = catalog_snapshot()
    response = staff_api.post("/api/products/", {**_new_lamp(kitchen), "category_id": 999999})
    assert response.status_code == 400
    assert response.json() == {
        "detail": "Category 999999 does not exist.",
        "code": "unknown_category",
    }
    assert catalog_snapshot() == before


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("changes", "loc", "type_"),
    [
        ({"price": "0"}, "price", "greater_than"),
        ({"price": "-1.00"}, "price", "greater_than"),
        (
            {"price": "12.345"},
            "price",
            "decimal_max_places",
        ),
        ({"price": "cheap"}, "price", "decimal_parsing"),
        (
            {"stock": -1},
            "stock",
            "greater_than_equal",
        ),
        (
            {"stock": 1_000_001},
            "stock",
            "less_than_equal",
        ),
        ({"is_active": "yes"}, "is_active", "bool_type"),
        ({"name": ""}, "name", "string_too_short"),
        (
            {"category_id": 0},
            "category_id",
            "greater_than_equal",
        ),
    ],
)
def test_invalid_product_bodies_are_422(
    staff_api: ApiClient, kitchen: Category, changes: dict[str, Any], loc: str, type_: str
) -> None:
    before = catalog_snapshot()
    response = staff_api.post("/api/products/", _new_lamp(kitchen, **changes))
    assert response.status_code == 422
    assert without_pydantic_wording(response.json()) == validation_error(
        ["body", "payload", loc], type_
    )
    assert catalog_snapshot() == before


@pytest.mark.django_db
def test_a_product_body_with_missing_fields_lists_them(staff_api: ApiClient) -> None:
    response = staff_api.post("/api/products/", {"name": "Lamp"})
    assert response.status_code == 422
    assert without_pydantic_wording(response.json()) == {
        "detail": [
            {"type": "missing", "loc": ["body", "payload", field]}
            for field in ("price", "stock", "category_id")
        ],
        "code": "validation_error",
    }
    assert not Product.objects.exists()


@pytest.mark.django_db
@writers
def test_replace_product(caller: Caller, kitchen: Category) -> None:
    product = new_product(name="Desk Lamp", slug="desk-lamp")
    before = catalog_snapshot()
    response = caller.api.put(
        f"/api/products/{product.pk}/",
        _lamp(kitchen, name="Floor Lamp", price="49.9", is_active=False),
    )
    if caller.refusal:
        caller.assert_refused(response, before)
        return
    assert response.status_code == 200
    assert response.json() == product_body(product)
    assert response["ETag"] == '"v2"'
    assert product.slug == "floor-lamp"
    assert (product.name, product.price, product.stock, product.is_active, product.version) == (
        "Floor Lamp",
        Decimal("49.90"),
        10,
        False,
        2,
    )
    assert (product.description, product.category) == ("Warm light.", kitchen)


@pytest.mark.django_db
@writers
def test_patch_product_changes_only_what_is_sent(caller: Caller) -> None:
    product = new_product(name="Desk Lamp", slug="desk-lamp", price=Decimal("12.50"))
    before = catalog_snapshot()
    response = caller.api.patch(f"/api/products/{product.pk}/", {"price": "9.9"})
    if caller.refusal:
        caller.assert_refused(response, before)
        return
    assert response.status_code == 200
    assert response.json() == product_body(product)
    assert response.json()["price"] == "9.90"
    assert (product.name, product.slug, product.stock) == ("Desk Lamp", "desk-lamp", 10)


@pytest.mark.django_db
def test_patch_product_name_makes_a_new_unique_slug(staff_api: ApiClient) -> None:
    new_product(name="Floor Lamp", slug="floor-lamp")
    product = new_product(name="Desk Lamp", slug="desk-lamp")
    response = staff_api.patch(f"/api/products/{product.pk}/", {"name": "Floor Lamp"})
    assert response.status_code == 200
    assert response.json()["slug"] == "floor-lamp-2"


@pytest.mark.django_db
def test_patch_product_to_an_unknown_category_is_a_400(staff_api: ApiClient) -> None:
    product = new_product()
    before = catalog_snapshot()
    response = staff_api.patch(f"/api/products/{product.pk}/", {"category_id": 999999})
    assert response.status_code == 400
    assert response.json() == {
        "detail": "Category 999999 does not exist.",
        "code": "unknown_category",
    }
    assert catalog_snapshot() == before


@pytest.mark.django_db
def test_patch_product_moves_it_to_another_category(
    staff_api: ApiClient, kitchen: Category
) -> None:
    product = new_product()
    response = staff_api.patch(f"/api/products/{product.pk}/", {"category_id": kitchen.pk})
    assert response.status_code == 200
    assert response.json()["category"] == {"id": kitchen.pk, "name": "Kitchen"}
    assert Product.objects.get().category == kitchen


@pytest.mark.django_db
@writers
def test_delete_product(caller: Caller, anon: ApiClient) -> None:
    product = new_product()
    before = catalog_snapshot()
    response = caller.api.delete(f"/api/products/{product.pk}/")
    if caller.refusal:
        caller.assert_refused(response, before)
        return
    assert response.status_code == 204
    assert response.content == b""
    assert not Product.objects.exists()
    assert anon.get(f"/api/products/{product.pk}/").status_code == 404


@pytest.mark.django_db
def test_a_product_in_an_order_cannot_be_deleted(staff_api: ApiClient, customer: Any) -> None:
    product = new_product(name="Desk Lamp")
    order_create(customer=customer, lines=[(product.pk, 1)])
    before = catalog_snapshot()
    response = staff_api.delete(f"/api/products/{product.pk}/")
    assert response.status_code == 409
    assert response.json() == {
        "detail": "Product 'Desk Lamp' appears in orders; deactivate it instead "
        "(is_active=false) so order history stays intact.",
        "code": "product_in_use",
    }
    assert catalog_snapshot() == before


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_writes_to_an_unknown_product_are_404(
    staff_api: ApiClient, kitchen: Category, method: str
) -> None:
    kwargs = {} if method == "delete" else {"body": _lamp(kitchen)}
    response = getattr(staff_api, method)("/api/products/999999/", **kwargs)
    assert response.status_code == 404
    assert response.json() == {"detail": "Product 999999 not found.", "code": "product_not_found"}
    assert not Product.objects.exists()
