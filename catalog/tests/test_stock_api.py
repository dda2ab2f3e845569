"""Stock through the API: edits never carry stock, If-Match guards edits, staff adjust and count
stock with POST /api/products/{id}/stock/, and the ledger is listed per product."""

from __future__ import annotations

from typing import Any

import pytest

from catalog.models import Product, StockMovement
from catalog.tests.conftest import (
    WRITERS,
    Caller,
    as_json,
    catalog_snapshot,
    new_product,
    product_body,
)
from conftest import ApiClient, page_of
from orders.tests.factories import place_order

writers = pytest.mark.parametrize("caller", WRITERS, indirect=True)

STOCK_READ_ONLY = (
    "stock cannot be edited here: use POST /api/products/{id}/stock/ with "
    '{"delta": n, "reason": "..."} or {"set": n, "reason": "..."}'
)


def _url(product: Product, tail: str = "") -> str:
    return f"/api/products/{product.pk}/{tail}"


def _movement_body(movement: StockMovement) -> dict[str, Any]:
    movement.refresh_from_db()
    return {
        "id": movement.pk,
        "product_id": movement.product_id,
        "kind": movement.kind,
        "delta": movement.delta,
        "stock_after": movement.stock_after,
        "reason": movement.reason,
        "order_id": movement.order_id,
        "created_by_id": movement.created_by_id,
        "created_at": as_json(movement.created_at),
    }


def _ledger(product: Product) -> list[tuple[str, int, int, str]]:
    return list(
        StockMovement.objects.filter(product=product)
        .order_by("pk")
        .values_list("kind", "delta", "stock_after", "reason")
    )


# --- edits never carry stock -----------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["put", "patch"])
def test_stock_in_an_edit_is_refused_and_points_to_the_stock_endpoint(
    staff_api: ApiClient, method: str
) -> None:
    product = new_product(stock=10)
    body = {"name": "Lamp", "price": "5.00", "category_id": product.category_id, "stock": 3}
    before = catalog_snapshot()
    response = getattr(staff_api, method)(_url(product), body)
    assert response.status_code == 422
    assert response.json() == {
        "detail": [{"type": "stock_read_only", "loc": ["body", "payload"], "msg": STOCK_READ_ONLY}],
        "code": "validation_error",
    }
    assert catalog_snapshot() == before


@pytest.mark.django_db
def test_an_edit_writes_only_its_fields_and_bumps_the_version(staff_api: ApiClient) -> None:
    product = new_product(stock=10)
    # Another writer's change to stock since our read must survive our edit.
    Product.objects.filter(pk=product.pk).update(stock=4)
    response = staff_api.patch(_url(product), {"description": "New words."})
    assert response.status_code == 200
    assert response["ETag"] == '"v2"'
    assert response.json() == product_body(product)
    assert (product.description, product.stock, product.version) == ("New words.", 4, 2)


# --- If-Match ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_product_reads_carry_the_version_etag(staff_api: ApiClient, anon: ApiClient) -> None:
    product = new_product()
    Product.objects.filter(pk=product.pk).update(version=7)
    response = staff_api.get(_url(product))
    assert (response.status_code, response["ETag"], response.json()["version"]) == (
        200,
        '"v7"',
        7,
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    "if_match", ['"v1"', "*", '"v9", "v1"', ' "v1" '], ids=["exact", "star", "list", "spaces"]
)
def test_an_edit_with_a_matching_if_match_applies(staff_api: ApiClient, if_match: str) -> None:
    product = new_product(name="Lamp")
    response = staff_api.patch(_url(product), {"name": "Bulb"}, headers={"If-Match": if_match})
    assert response.status_code == 200
    assert response["ETag"] == '"v2"'
    assert response.json() == product_body(product)
    assert product.name == "Bulb"


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["put", "patch"])
@pytest.mark.parametrize(
    "if_match",
    ['"v1"', 'W/"v2"', "v2", '"2"', "garbage"],
    ids=["old", "weak", "bare", "no-v", "junk"],
)
def test_an_edit_with_a_stale_or_foreign_if_match_is_412_and_changes_nothing(
    staff_api: ApiClient, method: str, if_match: str
) -> None:
    product = new_product(name="Lamp")
    staff_api.patch(_url(product), {"description": "Someone else's edit."})  # now v2
    before = catalog_snapshot()
    body = {"name": "Bulb", "price": "5.00", "category_id": product.category_id}
    response = getattr(staff_api, method)(_url(product), body, headers={"If-Match": if_match})
    assert response.status_code == 412
    assert response.json() == {
        "detail": f"Product {product.pk} was changed since you read it (If-Match no longer "
        "matches its ETag); fetch it again and reapply your change.",
        "code": "version_mismatch",
    }
    assert catalog_snapshot() == before


@pytest.mark.django_db
def test_a_sale_does_not_stale_an_etag_and_an_edit_does_not_undo_the_sale(
    staff_api: ApiClient, customer: Any
) -> None:
    product = new_product(stock=10)
    etag = staff_api.get(_url(product))["ETag"]
    place_order(customer=customer, lines=[(product, 3)])
    response = staff_api.put(
        _url(product),
        {"name": "Lamp", "price": "5.00", "category_id": product.category_id},
        headers={"If-Match": etag},
    )
    assert response.status_code == 200
    assert response.json()["stock"] == 7
    product.refresh_from_db()
    assert (product.stock, product.version) == (7, 2)


@pytest.mark.django_db
def test_an_if_match_on_a_missing_product_is_404(staff_api: ApiClient) -> None:
    response = staff_api.patch("/api/products/999999/", {"name": "x"}, headers={"If-Match": '"v1"'})
    assert response.status_code == 404
    assert response.json() == {"detail": "Product 999999 not found.", "code": "product_not_found"}


# --- POST /api/products/{id}/stock/ ---------------------------------------------------------------


@pytest.mark.django_db
@writers
def test_stock_adjustment_is_staff_only(caller: Caller, staff: Any) -> None:
    product = new_product(stock=10)
    before = catalog_snapshot()
    response = caller.api.post(_url(product, "stock/"), {"delta": 5, "reason": "delivery"})
    if caller.refusal:
        caller.assert_refused(response, before)
        return
    assert response.status_code == 201
    movement = StockMovement.objects.get(product=product, kind="adjustment")
    assert response.json() == _movement_body(movement)
    assert (movement.delta, movement.stock_after, movement.reason) == (5, 15, "delivery")
    assert movement.created_by_id == staff.pk
    product.refresh_from_db()
    assert product.stock == 15


@pytest.mark.django_db
def test_a_write_off_and_a_count_are_on_the_ledger(staff_api: ApiClient, staff: Any) -> None:
    product = new_product(stock=10)
    version = product.version
    off = staff_api.post(_url(product, "stock/"), {"delta": -4, "reason": "broken in transit"})
    count = staff_api.post(_url(product, "stock/"), {"set": 2, "reason": "stock count"})
    same = staff_api.post(_url(product, "stock/"), {"set": 2, "reason": "recount"})
    assert [r.status_code for r in (off, count, same)] == [201, 201, 201]
    assert [
        (r.json()["kind"], r.json()["delta"], r.json()["stock_after"]) for r in (off, count, same)
    ] == [
        ("adjustment", -4, 6),
        ("count", -4, 2),
        ("count", 0, 2),
    ]
    assert _ledger(product) == [
        ("opening", 10, 10, "opening stock"),
        ("adjustment", -4, 6, "broken in transit"),
        ("count", -4, 2, "stock count"),
        ("count", 0, 2, "recount"),
    ]
    product.refresh_from_db()
    # Stock operations are not edits: an ETag read before them still matches.
    assert (product.stock, product.version) == (2, version)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "code", "detail"),
    [
        (
            {"delta": -11, "reason": "x"},
            "stock_below_zero",
            "Stock of 'Lamp' (product {pk}) cannot go below zero: it is 10, the change would "
            "make it -1.",
        ),
        (
            {"delta": 999_991, "reason": "x"},
            "stock_above_limit",
            "Stock of 'Lamp' (product {pk}) cannot exceed 1000000: it is 10, the change would "
            "make it 1000001.",
        ),
    ],
)
def test_a_stock_change_out_of_bounds_is_409_and_changes_nothing(
    staff_api: ApiClient, body: dict[str, Any], code: str, detail: str
) -> None:
    product = new_product(name="Lamp", stock=10)
    before = catalog_snapshot()
    response = staff_api.post(_url(product, "stock/"), body)
    assert response.status_code == 409
    assert response.json() == {"detail": detail.format(pk=product.pk), "code": code}
    assert catalog_snapshot() == before


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "loc", "type_"),
    [
        ({"delta": 1, "set": 1, "reason": "x"}, ["body", "payload"], "one_of_delta_or_set"),
        ({"reason": "x"}, ["body", "payload"], "one_of_delta_or_set"),
        ({"delta": 0, "reason": "x"}, ["body", "payload"], "zero_delta"),
        ({"set": -1, "reason": "x"}, ["body", "payload", "set"], "greater_than_equal"),
        ({"set": 1_000_001, "reason": "x"}, ["body", "payload", "set"], "less_than_equal"),
        ({"delta": -1_000_001, "reason": "x"}, ["body", "payload", "delta"], "greater_than_equal"),
        ({"delta": 1}, ["body", "payload", "reason"], "missing"),
        ({"delta": 1, "reason": ""}, ["body", "payload", "reason"], "string_too_short"),
        ({"delta": "1.5", "reason": "x"}, ["body", "payload", "delta"], "int_parsing"),
    ],
)
def test_invalid_stock_changes_are_422(
    staff_api: ApiClient, body: dict[str, Any], loc: list[Any], type_: str
) -> None:
    product = new_product(stock=10)
    before = catalog_snapshot()
    response = staff_api.post(_url(product, "stock/"), body)
    assert response.status_code == 422
    problems = response.json()["detail"]
    assert [(p["loc"], p["type"]) for p in problems] == [(loc, type_)]
    assert response.json()["code"] == "validation_error"
    assert catalog_snapshot() == before


@pytest.mark.django_db
def test_stock_of_an_unknown_product_is_404(staff_api: ApiClient) -> None:
    for response in (
        staff_api.post("/api/products/999999/stock/", {"delta": 1, "reason": "x"}),
        staff_api.get("/api/products/999999/stock/movements/"),
    ):
        assert response.status_code == 404
        assert response.json() == {
            "detail": "Product 999999 not found.",
            "code": "product_not_found",
        }
    assert not StockMovement.objects.exists()


# --- GET /api/products/{id}/stock/movements/ ----------------------------------------------------


@pytest.mark.django_db
@writers
def test_movements_are_listed_newest_first_to_staff(caller: Caller, customer: Any) -> None:
    product = new_product(stock=10)
    order = place_order(customer=customer, lines=[(product, 3)])
    new_product(stock=4)  # another product's ledger is not listed
    response = caller.api.get(_url(product, "stock/movements/"))
    if caller.refusal:
        assert (response.status_code, response.json()) == caller.refusal
        return
    assert response.status_code == 200
    movements = list(StockMovement.objects.filter(product=product).order_by("-pk"))
    assert response.json() == page_of([_movement_body(m) for m in movements])
    assert [(m.kind, m.delta, m.stock_after, m.order_id) for m in movements] == [
        ("sale", -3, 7, order.pk),
        ("opening", 10, 10, None),
    ]
    assert movements[0].created_by_id == customer.pk
