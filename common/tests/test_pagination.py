"""Counting stops at COUNT_LIMIT: a huge list says "at least this many" instead of scanning all."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.models import Category, Product
from catalog.tests.conftest import new_category
from common import pagination
from conftest import ApiClient

pytestmark = pytest.mark.django_db


@pytest.fixture
def limit(monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(pagination, "COUNT_LIMIT", 5)
    return 5


def _products(n: int) -> None:
    category = new_category()
    Product.objects.bulk_create(
        Product(category=category, name=f"P{i}", slug=f"p-{i}", price=1, stock=1) for i in range(n)
    )


def test_past_the_limit_the_count_says_so(anon: ApiClient, limit: int) -> None:
    _products(7)
    with CaptureQueriesContext(connection) as queries:
        body = anon.get("/api/products/", page_size=2, ordering="name").json()
    assert {k: v for k, v in body.items() if k != "items"} == {
        "count": 5,
        "count_exact": False,
        "page": 1,
        "page_size": 2,
        "pages": 3,
        "next": "/api/products/?page_size=2&ordering=name&page=2",
        "previous": None,
    }
    count_sql = next(q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper())
    assert "LIMIT 6" in count_sql


@pytest.mark.parametrize(("n", "exact"), [(5, True), (6, False)])
def test_the_limit_itself_is_exact(anon: ApiClient, limit: int, n: int, exact: bool) -> None:
    _products(n)
    body = anon.get("/api/products/").json()
    assert (body["count"], body["count_exact"], len(body["items"])) == (5, exact, n)


def test_categories_count_the_same_way(anon: ApiClient, limit: int) -> None:
    Category.objects.bulk_create(Category(name=f"C{i}", slug=f"c-{i}") for i in range(6))
    body = anon.get("/api/categories/").json()
    assert (body["count"], body["count_exact"]) == (5, False)
