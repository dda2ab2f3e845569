"""Catalog API: public reads, staff-only writes, visibility of inactive products, filters, pages."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from catalog.models import Category, Product
from catalog.tests.conftest import (
    WRITERS,
    Caller,
    catalog_snapshot,
    category_body,
    new_category,
    new_product,
    product_body,
)
from conftest import ApiClient, page_of
from orders.services import order_create

writers = pytest.mark.parametrize("caller", WRITERS, indirect=True)


def _error(loc: list[Any], type_: str, msg: str) -> dict[str, Any]:
    return {"detail": [{"type": type_, "loc": loc, "msg": msg}], "code": "validation_error"}


# --- categories: reads --------------------------------------------------------------------


@pytest.mark.django_db
def test_categories_are_listed_by_name_for_anyone(anon: ApiClient) -> None:
    tools, kitchen, garden = (new_category(name=n) for n in ("Tools", "Kitchen", "Garden"))
    response = anon.get("/api/categories/")
    assert response.status_code == 200
    assert response.json() == page_of([category_body(c) for c in (garden, kitchen, tools)])


@pytest.mark.django_db
def test_a_category_is_public(anon: ApiClient) -> None:
    category = new_category(name="Kitchen", slug="kitchen")
    response = anon.get(f"/api/categories/{category.pk}/")
    assert response.status_code == 200
    assert response.json() == {"id": category.pk, "name": "Kitchen", "slug": "kitchen"}


@pytest.mark.django_db
def test_an_unknown_category_is_a_404(anon: ApiClient) -> None:
    response = anon.get("/api/categories/999999/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Category 999999 not found.", "code": "category_not_found"}


# --- categories: writes -------------------------------------------------------------------


@pytest.mark.django_db
@writers
def test_create_category(caller: Caller) -> None:
    before = catalog_snapshot()
    response = caller.api.post("/api/categories/", {"name": "Home & Garden"})
    if caller.refusal:
        caller.assert_refused(response, before)
        return
    assert response.status_code == 201
    category = Category.objects.get()
    assert response.json() == {"id": category.pk, "name": "Home & Garden", "slug": "home-garden"}


@pytest.mark.django_db
def test_category_slugs_are_made_unique(staff_api: ApiClient) -> None:
    slugs = [
        staff_api.post("/api/categories/", {"name": name}).json()["slug"]
        for name in ("Home & Garden", "Home Garden", "Home-Garden")
    ]
    assert slugs == ["home-garden", "home-garden-2", "home-garden-3"]
    assert sorted(Category.objects.values_list("slug", flat=True)) == sorted(slugs)


@pytest.mark.django_db
def test_a_given_slug_is_kept(staff_api: ApiClient) -> None:
    response = staff_api.post("/api/categories/", {"name": "Kitchen", "slug": "cook_stuff"})
    assert response.status_code == 201
    assert response.json()["slug"] == "cook_stuff"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "detail", "code"),
    [
        ({"name": "kitchen"}, "A category named 'kitchen' already exists.", "category_exists"),
        (
            {"name": "Cookware", "slug": "kitchen"},
            "The slug 'kitchen' is already used.",
            "slug_taken",
        ),
    ],
)
def test_duplicate_category_names_and_slugs_are_409(
    staff_api: ApiClient, body: dict[str, str], detail: str, code: str
) -> None:
    new_category(name="Kitchen", slug="kitchen")
    before = catalog_snapshot()
    response = staff_api.post("/api/categories/", body)
    assert response.status_code == 409
    assert response.json() == {"detail": detail, "code": code}
    assert catalog_snapshot() == before


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({}, _error(["body", "payload", "name"], "missing", "Field required")),
        (
            {"name": ""},
            _error(
                ["body", "payload", "name"],
                "string_too_short",
                "String should have at least 1 character",
            ),
        ),
        (
            {"name": "Kitchen", "slug": "Not A Slug"},
            _error(
                ["body", "payload", "slug"],
                "string_pattern_mismatch",
                "String should match pattern '^[-a-z0-9_]+$'",
            ),
        ),
    ],
)
def test_invalid_category_bodies_are_422(
    staff_api: ApiClient, body: dict[str, str], expected: dict[str, Any]
) -> None:
    response = staff_api.post("/api/categories/", body)
    assert response.status_code == 422
    assert response.json() == expected
    assert not Category.objects.exists()


@pytest.mark.django_db
@writers
def test_replace_category(caller: Caller) -> None:
    category = new_category(name="Kitchen", slug="kitchen")
    before = catalog_snapshot()
    response = caller.api.put(
        f"/api/categories/{category.pk}/", {"name": "Cookware", "slug": "cookware"}
    )
    if caller.refusal:
        caller.assert_refused(response, before)
        return
    assert response.status_code == 200
    assert response.json() == {"id": category.pk, "name": "Cookware", "slug": "cookware"}
    assert category_body(category) == response.json()


@pytest.mark.django_db
@writers
def test_patch_category_keeps_what_is_not_sent(caller: Caller) -> None:
    category = new_category(name="Kitchen", slug="kitchen")
    before = catalog_snapshot()
    response = caller.api.patch(f"/api/categories/{category.pk}/", {"name": "Cookware"})
    if caller.refusal:
        caller.assert_refused(response, before)
        return
    assert response.status_code == 200
    # The slug is an address: renaming keeps it unless a new one is sent.
    assert response.json() == {"id": category.pk, "name": "Cookware", "slug": "kitchen"}
    assert category_body(category) == response.json()


@pytest.mark.django_db
def test_renaming_a_category_to_another_ones_name_is_409(staff_api: ApiClient) -> None:
    new_category(name="Garden")
    kitchen = new_category(name="Kitchen")
    before = catalog_snapshot()
    response = staff_api.patch(f"/api/categories/{kitchen.pk}/", {"name": "GARDEN"})
    assert response.status_code == 409
    assert response.json() == {
        "detail": "A category named 'GARDEN' already exists.",
        "code": "category_exists",
    }
    assert catalog_snapshot() == before
    # Its own name in another case is not a conflict.
    same = staff_api.patch(f"/api/categories/{kitchen.pk}/", {"name": "KITCHEN"})
    assert same.status_code == 200
    assert same.json()["name"] == "KITCHEN"


@pytest.mark.django_db
@writers
def test_delete_category(caller: Caller) -> None:
    category = new_category()
    before = catalog_snapshot()
    response = caller.api.delete(f"/api/categories/{category.pk}/")
    if caller.refusal:
        caller.assert_refused(response, before)
        return
    assert response.status_code == 204
    assert response.content == b""
    assert not Category.objects.exists()


@pytest.mark.django_db
def test_a_category_with_products_cannot_be_deleted(staff_api: ApiClient) -> None:
    category = new_category(name="Kitchen")
    new_product(category=category, is_active=False)  # inactive products count too
    before = catalog_snapshot()
    response = staff_api.delete(f"/api/categories/{category.pk}/")
    assert response.status_code == 409
    assert response.json() == {
        "detail": "Category 'Kitchen' still has products; move or delete them first.",
        "code": "category_in_use",
    }
    assert catalog_snapshot() == before


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_writes_to_an_unknown_category_are_404(staff_api: ApiClient, method: str) -> None:
    kwargs = {} if method == "delete" else {"body": {"name": "Anything"}}
    response = getattr(staff_api, method)("/api/categories/999999/", **kwargs)
    assert response.status_code == 404
    assert response.json() == {"detail": "Category 999999 not found.", "code": "category_not_found"}
    assert not Category.objects.exists()


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
    ("changes", "loc", "type_", "msg"),
    [
        ({"price": "0"}, "price", "greater_than", "Input should be greater than 0"),
        ({"price": "-1.00"}, "price", "greater_than", "Input should be greater than 0"),
        (
            {"price": "12.345"},
            "price",
            "decimal_max_places",
            "Decimal input should have no more than 2 decimal places",
        ),
        ({"price": "cheap"}, "price", "decimal_parsing", "Input should be a valid decimal"),
        (
            {"stock": -1},
            "stock",
            "greater_than_equal",
            "Input should be greater than or equal to 0",
        ),
        (
            {"stock": 1_000_001},
            "stock",
            "less_than_equal",
            "Input should be less than or equal to 1000000",
        ),
        ({"is_active": "yes"}, "is_active", "bool_type", "Input should be a valid boolean"),
        ({"name": ""}, "name", "string_too_short", "String should have at least 1 character"),
        (
            {"category_id": 0},
            "category_id",
            "greater_than_equal",
            "Input should be greater than or equal to 1",
        ),
    ],
)
def test_invalid_product_bodies_are_422(
    staff_api: ApiClient, kitchen: Category, changes: dict[str, Any], loc: str, type_: str, msg: str
) -> None:
    before = catalog_snapshot()
    response = staff_api.post("/api/products/", _new_lamp(kitchen, **changes))
    assert response.status_code == 422
    assert response.json() == _error(["body", "payload", loc], type_, msg)
    assert catalog_snapshot() == before


@pytest.mark.django_db
def test_a_product_body_with_missing_fields_lists_them(staff_api: ApiClient) -> None:
    response = staff_api.post("/api/products/", {"name": "Lamp"})
    assert response.status_code == 422
    assert response.json() == {
        "detail": [
            {"type": "missing", "loc": ["body", "payload", field], "msg": "Field required"}
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


# --- products: reads and visibility -------------------------------------------------------


@pytest.mark.django_db
def test_a_product_is_public(anon: ApiClient) -> None:
    product = new_product(price=Decimal("12.50"))
    response = anon.get(f"/api/products/{product.pk}/")
    assert response.status_code == 200
    assert response.json() == product_body(product)
    assert response.json()["price"] == "12.50"


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["anon", "customer_api"])
def test_inactive_products_are_hidden_from_customers(
    request: pytest.FixtureRequest, who: str
) -> None:
    client = request.getfixturevalue(who)
    visible = new_product(name="On sale")
    hidden = new_product(name="Withdrawn", is_active=False)
    listing = client.get("/api/products/")
    assert listing.status_code == 200
    assert listing.json() == page_of([product_body(visible)])
    detail = client.get(f"/api/products/{hidden.pk}/")
    assert detail.status_code == 404
    assert detail.json() == {
        "detail": f"Product {hidden.pk} not found.",
        "code": "product_not_found",
    }


@pytest.mark.django_db
def test_staff_see_inactive_products(staff_api: ApiClient) -> None:
    visible = new_product(name="On sale")
    hidden = new_product(name="Withdrawn", is_active=False)
    listing = staff_api.get("/api/products/")
    assert listing.status_code == 200
    assert listing.json() == page_of([product_body(hidden), product_body(visible)])
    detail = staff_api.get(f"/api/products/{hidden.pk}/")
    assert detail.status_code == 200
    assert detail.json() == product_body(hidden)
    # ... and may reactivate them.
    patched = staff_api.patch(f"/api/products/{hidden.pk}/", {"is_active": True})
    assert patched.status_code == 200
    assert patched.json()["is_active"] is True


@pytest.mark.django_db
def test_a_bad_token_on_a_public_read_is_a_401(anon: ApiClient) -> None:
    new_product()
    response = anon.get("/api/products/", headers={"Authorization": "Bearer garbage"})
    assert response.status_code == 401
    assert response.json() == {
        "detail": "Access token is invalid or expired: Token is invalid or expired",
        "code": "token_invalid",
    }


@pytest.fixture
def shelf(db: Any) -> dict[str, Product]:
    kitchen = new_category(name="Kitchen")
    garden = new_category(name="Garden")
    products = {
        "kettle": new_product(
            category=kitchen,
            name="Blue Kettle",
            description="Boils water fast.",
            price=Decimal("25.00"),
            stock=5,
        ),
        "mug": new_product(
            category=kitchen,
            name="Tea Mug",
            description="Holds a blue brew.",
            price=Decimal("4.50"),
            stock=0,
        ),
        "spade": new_product(
            category=garden, name="Spade", description="Digs.", price=Decimal("18.00"), stock=12
        ),
        "hose": new_product(
            category=garden,
            name="Garden Hose",
            description="Twenty metres.",
            price=Decimal("32.99"),
            stock=3,
        ),
        "secret": new_product(
            category=kitchen,
            name="Blue Secret",
            description="Not yet.",
            price=Decimal("10.00"),
            is_active=False,
        ),
    }
    return products


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, ["hose", "spade", "mug", "kettle"]),
        ({"category": "Kitchen"}, ["mug", "kettle"]),
        ({"category": "Garden"}, ["hose", "spade"]),
        ({"min_price": "18"}, ["hose", "spade", "kettle"]),
        ({"max_price": "18.00"}, ["spade", "mug"]),
        ({"min_price": "5", "max_price": "30"}, ["spade", "kettle"]),
        ({"in_stock": "true"}, ["hose", "spade", "kettle"]),
        ({"in_stock": "false"}, ["mug"]),
        ({"search": "blue"}, ["mug", "kettle"]),
        ({"search": "BLUE"}, ["mug", "kettle"]),
        ({"search": "metres"}, ["hose"]),
        ({"search": "nothing like it"}, []),
        ({"ordering": "price"}, ["mug", "spade", "kettle", "hose"]),
        ({"ordering": "-price"}, ["hose", "kettle", "spade", "mug"]),
        ({"ordering": "name"}, ["kettle", "hose", "spade", "mug"]),
        ({"ordering": "-created_at"}, ["hose", "spade", "mug", "kettle"]),
        ({"category": "Garden", "in_stock": "true", "ordering": "price"}, ["spade", "hose"]),
    ],
)
def test_product_filters(
    anon: ApiClient, shelf: dict[str, Product], query: dict[str, Any], expected: list[str]
) -> None:
    if "category" in query:
        query = {**query, "category": Category.objects.get(name=query["category"]).pk}
    response = anon.get("/api/products/", **query)
    assert response.status_code == 200
    assert response.json() == page_of([product_body(shelf[key]) for key in expected])


@pytest.mark.django_db
def test_staff_filters_include_inactive_products(
    staff_api: ApiClient, shelf: dict[str, Product]
) -> None:
    response = staff_api.get("/api/products/", search="blue", ordering="price")
    assert response.status_code == 200
    assert [p["name"] for p in response.json()["items"]] == [
        "Tea Mug",
        "Blue Secret",
        "Blue Kettle",
    ]


LIST_BY_NAME = "/api/products/?ordering=name"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "page_names", "count", "pages", "next_page", "previous_page"),
    [
        ({}, [f"P{n:02}" for n in range(20)], 25, 2, f"{LIST_BY_NAME}&page=2", None),
        (
            {"page": 2},
            [f"P{n:02}" for n in range(20, 25)],
            25,
            2,
            None,
            f"{LIST_BY_NAME}&page=1",
        ),
        # Past the end: nothing, and the previous page is the last one there is.
        ({"page": 3}, [], 25, 2, None, f"{LIST_BY_NAME}&page=2"),
        (
            {"page_size": 10, "page": 2},
            [f"P{n:02}" for n in range(10, 20)],
            25,
            3,
            f"{LIST_BY_NAME}&page_size=10&page=3",
            f"{LIST_BY_NAME}&page_size=10&page=1",
        ),
        ({"page_size": 100}, [f"P{n:02}" for n in range(25)], 25, 1, None, None),
    ],
)
def test_products_are_paginated(
    anon: ApiClient,
    query: dict[str, int],
    page_names: list[str],
    count: int,
    pages: int,
    next_page: str | None,
    previous_page: str | None,
) -> None:
    category = new_category()
    for n in range(25):
        new_product(category=category, name=f"P{n:02}")
    response = anon.get("/api/products/", ordering="name", **query)
    assert response.status_code == 200
    body = response.json()
    assert [p["name"] for p in body.pop("items")] == page_names
    page, size = query.get("page", 1), query.get("page_size", 20)
    assert body == {
        "count": count,
        "count_exact": True,
        "page": page,
        "page_size": size,
        "pages": pages,
        "next": next_page,
        "previous": previous_page,
    }


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "loc", "type_", "msg"),
    [
        (
            {"page_size": 101},
            "page_size",
            "less_than_equal",
            "Input should be less than or equal to 100",
        ),
        (
            {"page_size": 0},
            "page_size",
            "greater_than_equal",
            "Input should be greater than or equal to 1",
        ),
        ({"page": 0}, "page", "greater_than_equal", "Input should be greater than or equal to 1"),
        (
            {"page": "two"},
            "page",
            "int_parsing",
            "Input should be a valid integer, unable to parse string as an integer",
        ),
        ({"min_price": "abc"}, "min_price", "decimal_parsing", "Input should be a valid decimal"),
        (
            {"max_price": "-1"},
            "max_price",
            "greater_than_equal",
            "Input should be greater than or equal to 0",
        ),
        (
            {"category": 0},
            "category",
            "greater_than_equal",
            "Input should be greater than or equal to 1",
        ),
        (
            {"in_stock": "maybe"},
            "in_stock",
            "bool_parsing",
            "Input should be a valid boolean, unable to interpret input",
        ),
        (
            {"ordering": "stock"},
            "ordering",
            "enum",
            "Input should be 'price', '-price', 'name' or '-created_at'",
        ),
        (
            {"search": "a\x00b"},
            "search",
            "value_error",
            "Value error, Null characters are not allowed.",
        ),
    ],
)
def test_invalid_list_queries_are_422(
    anon: ApiClient, query: dict[str, Any], loc: str, type_: str, msg: str
) -> None:
    response = anon.get("/api/products/", **query)
    assert response.status_code == 422
    assert response.json() == _error(["query", loc], type_, msg)


@pytest.mark.django_db
def test_the_category_list_is_paginated_and_bounded(anon: ApiClient) -> None:
    for n in range(3):
        new_category(name=f"C{n}")
    response = anon.get("/api/categories/", page_size=2, page=2)
    assert response.status_code == 200
    assert response.json() == page_of(
        [category_body(Category.objects.get(name="C2"))],
        count=3,
        page=2,
        page_size=2,
        previous="/api/categories/?page_size=2&page=1",
    )
    too_big = anon.get("/api/categories/", page_size=101)
    assert too_big.status_code == 422
    assert too_big.json() == _error(
        ["query", "page_size"], "less_than_equal", "Input should be less than or equal to 100"
    )
