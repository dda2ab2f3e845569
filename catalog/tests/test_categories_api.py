"""Categories API: public reads, staff-only writes, refusals that change nothing."""

from __future__ import annotations

from typing import Any

import pytest

from catalog.models import Category
from catalog.tests.conftest import (
    Caller,
    catalog_snapshot,
    category_body,
    new_category,
    new_product,
    writers,
)
from conftest import ApiClient, page_of, validation_error, without_pydantic_wording

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
        ({}, validation_error(["body", "payload", "name"], "missing")),
        (
            {"name": ""},
            validation_error(
                ["body", "payload", "name"],
                "string_too_short",
            ),
        ),
        (
            {"name": "Kitchen", "slug": "Not A Slug"},
            validation_error(
                ["body", "payload", "slug"],
                "string_pattern_mismatch",
            ),
        ),
    ],
)
def test_invalid_category_bodies_are_422(
    staff_api: ApiClient, body: dict[str, str], expected: dict[str, Any]
) -> None:
    response = staff_api.post("/api/categories/", body)
    assert response.status_code == 422
    assert without_pydantic_wording(response.json()) == expected
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
