"""Product reads: visibility of inactive products, filters, ordering, search, pages."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from catalog.models import Category, Product
from catalog.tests.conftest import (
    category_body,
    new_category,
    new_product,
    product_body,
)
from conftest import ApiClient, page_of, validation_error, without_pydantic_wording

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
    ("query", "loc", "type_"),
    [
        (
            {"page_size": 101},
            "page_size",
            "less_than_equal",
        ),
        (
            {"page_size": 0},
            "page_size",
            "greater_than_equal",
        ),
        ({"page": 0}, "page", "greater_than_equal"),
        (
            {"page": "two"},
            "page",
            "int_parsing",
        ),
        ({"min_price": "abc"}, "min_price", "decimal_parsing"),
        (
            {"max_price": "-1"},
            "max_price",
            "greater_than_equal",
        ),
        (
            {"category": 0},
            "category",
            "greater_than_equal",
        ),
        (
            {"in_stock": "maybe"},
            "in_stock",
            "bool_parsing",
        ),
        (
            {"ordering": "stock"},
            "ordering",
            "enum",
        ),
    ],
)
def test_invalid_list_queries_are_422(
    anon: ApiClient, query: dict[str, Any], loc: str, type_: str
) -> None:
    response = anon.get("/api/products/", **query)
    assert response.status_code == 422
    assert without_pydantic_wording(response.json()) == validation_error(["query", loc], type_)


@pytest.mark.django_db
def test_a_search_with_a_null_character_is_422(anon: ApiClient) -> None:
    response = anon.get("/api/products/", search="a\x00b")
    assert response.status_code == 422
    assert without_pydantic_wording(response.json()) == validation_error(
        ["query", "search"], "value_error", "Null characters are not allowed."
    )


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
    assert without_pydantic_wording(too_big.json()) == validation_error(
        ["query", "page_size"], "less_than_equal"
    )
