"""Fixtures for the catalog tests: API renderings of rows, a snapshot of the catalog, callers."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, cast

import pytest
import redis
from django.core.cache import caches
from django.core.serializers.json import DjangoJSONEncoder
from django.test import override_settings

from catalog.models import Category, Product, StockMovement
from catalog.tests.factories import CategoryFactory, ProductFactory
from conftest import ApiClient


def new_category(**fields: Any) -> Category:
    """A saved category (typed, unlike the factory call)."""
    return cast(Category, CategoryFactory(**fields))


def new_product(**fields: Any) -> Product:
    """A saved product (typed, unlike the factory call)."""
    return cast(Product, ProductFactory(**fields))


def as_json(value: Any) -> Any:
    """A value as the API renders it (datetimes in ISO 8601 with milliseconds, decimals as str)."""
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


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


@dataclass
class ThrowawayRedis:
    """A redis-server process of our own, which a test may kill."""

    process: subprocess.Popen[bytes]
    port: int

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_connect_timeout=0.2, socket_timeout=0.5)

    def answers(self) -> bool:
        try:
            return bool(self.client().ping())
        except redis.exceptions.ConnectionError:
            return False

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(timeout=10)


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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def throwaway_redis() -> Iterator[ThrowawayRedis]:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed")
    port = _free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    server = ThrowawayRedis(process, port)
    try:
        deadline = time.monotonic() + 10
        while not server.answers():
            if time.monotonic() > deadline:
                raise AssertionError(f"redis-server on port {port} did not start within 10 s")
            try:
                # Pauses between polls, and returns at once if the server died on startup.
                process.wait(timeout=0.05)
            except subprocess.TimeoutExpired:
                continue
            raise AssertionError(f"redis-server exited with {process.returncode} on startup")
        yield server
    finally:
        if process.poll() is None:
            server.kill()
