"""Fixtures for the catalog tests: API renderings of rows, a snapshot of the catalog, callers."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import caches
from django.test import override_settings

from catalog.models import Category, Product, StockMovement
from catalog.tests.factories import new_category, new_product  # noqa: F401 - for the tests
from conftest import ApiClient, as_json
from testkit.redis_server import RedisServer


def category_body(category: Category) -> dict[str, Any]:
    category.refresh_from_db()
    return {"id": category.pk, "name": category.name, "slug": category.slug}


def product_body(product: Product) -> dict[str, Any]:
    """The API's rendering of a product, built from the database row."""
    product.refresh_from_db()
    return as_json(
        {
            "id": product.pk,
            "name": product.name,
            "slug": product.slug,
            "description": product.description,
            "price": product.price,
            "stock": product.stock,
            "is_active": product.is_active,
            "category": {"id": product.category.pk, "name": product.category.name},
            "version": product.version,
            "created_at": product.created_at,
            "updated_at": product.updated_at,
        }
    )


def catalog_snapshot() -> tuple[list[Any], list[Any], list[Any]]:
    """Every catalog row, stock ledger included, to show a refused request changed nothing."""
    return (
        list(Category.objects.order_by("pk").values()),
        list(Product.objects.order_by("pk").values()),
        list(StockMovement.objects.order_by("pk").values()),
    )


@dataclass(frozen=True)
class Caller:
    """Who calls a staff-only write, and what they get when refused (None: staff, allowed)."""

    api: ApiClient
    refusal: tuple[int, dict[str, Any]] | None

    def assert_refused(self, response: Any, before: Any) -> None:
        assert self.refusal is not None
        assert (response.status_code, response.json()) == self.refusal
        assert catalog_snapshot() == before


WRITERS = [
    pytest.param(
        (
            "anon",
            (
                401,
                {
                    "detail": "Authentication credentials were not provided.",
                    "code": "not_authenticated",
                },
            ),
        ),
        id="anonymous",
    ),
    pytest.param(
        ("customer_api", (403, {"detail": "Only staff may do this.", "code": "staff_only"})),
        id="customer",
    ),
    pytest.param(("staff_api", None), id="staff"),
]


writers = pytest.mark.parametrize("caller", WRITERS, indirect=True)


@pytest.fixture
def caller(request: pytest.FixtureRequest) -> Caller:
    """Use with `@pytest.mark.parametrize("caller", WRITERS, indirect=True)`."""
    name, refusal = request.param
    return Caller(request.getfixturevalue(name), refusal)


@contextmanager
def cache_in(redis_url: str, *, prefix: str) -> Iterator[None]:
    """The default cache (and the edge cache's stamps) in the Redis at `redis_url`, configured as
    config/settings configures a Redis cache. Stamps that could not be written there are
    forgotten afterwards: that Redis is thrown away, and this process must not retry them."""
    options = {
        "CLIENT_CLASS": "config.cache.shared_client",
        "IGNORE_EXCEPTIONS": True,
        "SOCKET_CONNECT_TIMEOUT": 0.25,
        "SOCKET_TIMEOUT": 0.5,
    }
    cache = {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": redis_url,
        "KEY_PREFIX": prefix,
        "OPTIONS": options,
    }
    with override_settings(CACHES={"default": cache}, CACHE_REDIS_URL=redis_url):
        try:
            yield
        finally:
            caches["default"].client.discard_pending()  # type: ignore[attr-defined]


@pytest.fixture
def throwaway_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server process of the test's own, which the test may kill or pause."""
    server = RedisServer(tmp_path).start()
    try:
        yield server
    finally:
        server.kill()
