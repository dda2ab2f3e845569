"""cachalot on the catalog: repeated reads run no SQL, writes show at once, Redis may go away."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from decimal import Decimal
from typing import Any

import pytest
from cachalot.utils import UncachableQuery, get_query_cache_key
from django.conf import settings
from django.core.cache import caches as django_caches
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.models import Product
from catalog.tests.conftest import (
    cache_in,
    new_category,
    new_product,
    product_body,
)
from config.query_cache_key import query_cache_key
from conftest import ApiClient, fullstack, page_of
from orders.models import Order
from testkit.redis_server import RedisServer

LIST = "/api/products/"


def _warm(client: ApiClient, assert_num_queries: Any, **query: Any) -> Any:
    """Read the list twice; the second read must come from the cache alone."""
    first = client.get(LIST, **query)
    assert first.status_code == 200
    with assert_num_queries(0):
        second = client.get(LIST, **query)
    assert second.status_code == 200
    assert second.json() == first.json()
    return second.json()


def _tables(queries: list[dict[str, str]]) -> str:
    return " ".join(q["sql"] for q in queries)


# transactional_db: cachalot only writes to the shared cache when the outermost transaction
# commits, so inside a test-wide transaction the cache under test would never be reached.


def test_a_repeated_list_runs_no_sql(
    transactional_db: Any, anon: ApiClient, django_assert_num_queries: Any
) -> None:
    new_product(name="Lamp", price=Decimal("12.50"))
    body = _warm(anon, django_assert_num_queries, page_size=5, ordering="price")
    assert [(p["name"], p["price"]) for p in body["items"]] == [("Lamp", "12.50")]


def test_a_repeated_detail_runs_no_sql(
    transactional_db: Any, anon: ApiClient, django_assert_num_queries: Any
) -> None:
    product = new_product()
    assert anon.get(f"{LIST}{product.pk}/").status_code == 200
    with django_assert_num_queries(0):
        response = anon.get(f"{LIST}{product.pk}/")
    assert response.status_code == 200
    assert response.json() == product_body(product)


def test_another_query_is_not_served_from_the_first_ones_entry(
    transactional_db: Any, anon: ApiClient, django_assert_num_queries: Any
) -> None:
    new_product(name="Cheap", price=Decimal("1.00"))
    new_product(name="Dear", price=Decimal("99.00"))
    _warm(anon, django_assert_num_queries, min_price="50")
    response = anon.get(LIST, max_price="50")
    assert [p["name"] for p in response.json()["items"]] == ["Cheap"]


def test_a_created_product_is_listed_at_once(
    transactional_db: Any, anon: ApiClient, staff_api: ApiClient, django_assert_num_queries: Any
) -> None:
    category = new_category()
    new_product(category=category, name="Old")
    assert [p["name"] for p in _warm(anon, django_assert_num_queries)["items"]] == ["Old"]
    created = staff_api.post(
        LIST,
        {"name": "New", "price": "5.00", "stock": 1, "category_id": category.pk},
    )
    assert created.status_code == 201
    after = anon.get(LIST)
    assert after.status_code == 200
    assert [p["name"] for p in after.json()["items"]] == ["New", "Old"]
    assert after.json()["count"] == 2


def test_a_changed_product_is_listed_changed_at_once(
    transactional_db: Any, anon: ApiClient, staff_api: ApiClient, django_assert_num_queries: Any
) -> None:
    product = new_product(name="Lamp", price=Decimal("12.50"))
    assert _warm(anon, django_assert_num_queries)["items"][0]["price"] == "12.50"
    assert anon.get(f"{LIST}{product.pk}/").json()["price"] == "12.50"
    patched = staff_api.patch(f"{LIST}{product.pk}/", {"price": "9.99", "name": "Lamp II"})
    assert patched.status_code == 200
    after = anon.get(LIST).json()
    assert [(p["name"], p["price"]) for p in after["items"]] == [("Lamp II", "9.99")]
    assert anon.get(f"{LIST}{product.pk}/").json() == product_body(product)


def test_a_deactivated_product_disappears_at_once(
    transactional_db: Any, anon: ApiClient, staff_api: ApiClient, django_assert_num_queries: Any
) -> None:
    product = new_product()
    assert _warm(anon, django_assert_num_queries)["count"] == 1
    assert staff_api.patch(f"{LIST}{product.pk}/", {"is_active": False}).status_code == 200
    assert anon.get(LIST).json() == page_of([])
    assert anon.get(f"{LIST}{product.pk}/").status_code == 404


def test_a_deleted_product_disappears_at_once(
    transactional_db: Any, anon: ApiClient, staff_api: ApiClient, django_assert_num_queries: Any
) -> None:
    keep = new_product(name="Keep")
    gone = new_product(name="Gone")
    assert _warm(anon, django_assert_num_queries)["count"] == 2
    assert anon.get(f"{LIST}{gone.pk}/").status_code == 200
    assert staff_api.delete(f"{LIST}{gone.pk}/").status_code == 204
    assert anon.get(LIST).json() == page_of([product_body(keep)])
    assert anon.get(f"{LIST}{gone.pk}/").status_code == 404


def test_a_renamed_category_shows_in_the_product_list_at_once(
    transactional_db: Any, anon: ApiClient, staff_api: ApiClient, django_assert_num_queries: Any
) -> None:
    product = new_product()
    _warm(anon, django_assert_num_queries)
    response = staff_api.patch(f"/api/categories/{product.category.pk}/", {"name": "Renamed"})
    assert response.status_code == 200
    assert anon.get(LIST).json()["items"][0]["category"]["name"] == "Renamed"


def test_orders_are_never_served_from_the_cache(
    transactional_db: Any, customer_api: ApiClient
) -> None:
    product = new_product(stock=5)
    body = {"items": [{"product_id": product.pk, "quantity": 1}]}
    assert customer_api.post("/api/orders/", body).status_code == 201
    assert customer_api.get("/api/orders/").json()["count"] == 1
    with CaptureQueriesContext(connection) as repeat:
        listing = customer_api.get("/api/orders/")
    assert listing.status_code == 200
    assert listing.json()["count"] == 1
    sql = _tables(repeat.captured_queries)
    assert '"orders_order"' in sql
    # Who the token belongs to is read every time too (a signed-out session must stop at once).
    assert '"accounts_user"' in sql
    assert '"accounts_revokedsession"' in sql


@fullstack
def test_the_cache_is_shared_with_other_processes(
    transactional_db: Any, anon: ApiClient, django_assert_num_queries: Any
) -> None:
    """A write from another process (a worker, the admin, a shell) invalidates our cache."""
    product = new_product(name="Lamp", price=Decimal("12.50"))
    assert _warm(anon, django_assert_num_queries)["items"][0]["price"] == "12.50"

    db = settings.DATABASES["default"]
    env: dict[str, str] = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": (
            f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
        ),
        "REDIS_URL": settings.REDIS_URL,
        "CACHE_REDIS_URL": settings.CACHE_REDIS_URL,
        "CACHE_KEY_PREFIX": str(settings.CACHES["default"].get("KEY_PREFIX", "")),
    }
    code = (
        "from catalog.models import Product; "
        f"Product.objects.filter(pk={product.pk}).update(price='7.77')"
    )
    subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=settings.BASE_DIR,
        env=env,
        check=True,
        timeout=60,
        capture_output=True,
    )
    assert anon.get(LIST).json()["items"][0]["price"] == "7.77"


def test_the_api_survives_a_redis_outage(
    transactional_db: Any,
    anon: ApiClient,
    staff_api: ApiClient,
    throwaway_redis: RedisServer,
    django_assert_num_queries: Any,
) -> None:
    with cache_in(throwaway_redis.url, prefix="outage-test"):
        category = new_category()
        lamp = new_product(category=category, name="Lamp", price=Decimal("12.50"))
        warm = _warm(anon, django_assert_num_queries)
        assert warm == page_of([product_body(lamp)])
        keys = throwaway_redis.client().dbsize()
        assert isinstance(keys, int) and keys > 0  # the entries really are in that Redis

        throwaway_redis.kill()
        assert not throwaway_redis.answers()

        during = anon.get(LIST)
        assert during.status_code == 200
        assert during.json() == warm

        created = staff_api.post(
            LIST, {"name": "Kettle", "price": "20.00", "stock": 2, "category_id": category.pk}
        )
        assert created.status_code == 201
        kettle = Product.objects.get(name="Kettle")  # committed
        assert created.json() == product_body(kettle)

        patched = staff_api.patch(f"{LIST}{lamp.pk}/", {"price": "11.00"})
        assert patched.status_code == 200

        after = anon.get(LIST)
        assert after.status_code == 200
        assert after.json() == page_of([product_body(kettle), product_body(lamp)])
        assert after.json()["items"][1]["price"] == "11.00"
        detail = anon.get(f"{LIST}{kettle.pk}/")
        assert (detail.status_code, detail.json()) == (200, product_body(kettle))


def test_with_redis_down_calls_fail_fast_after_the_first(throwaway_redis: RedisServer) -> None:
    """A dead Redis costs one connection attempt, then the cache answers at once (back-off)."""
    with cache_in(throwaway_redis.url, prefix="backoff-test"):
        cache = django_caches["default"]
        cache.set("backoff-test", 1)
        throwaway_redis.kill()
        assert cache.get("backoff-test") is None  # the failure: a miss, not an error
        started = time.monotonic()
        for _ in range(100):
            assert cache.get("backoff-test") is None
            assert cache.get_many(["a", "b"]) == {}
            cache.set("backoff-test", 2)
        assert time.monotonic() - started < 0.5


def test_every_thread_shares_one_redis_client(throwaway_redis: RedisServer) -> None:
    """Django makes a cache object per thread (and per async context): they share one client."""
    used: list[tuple[Any, Any]] = []

    def use_the_cache() -> None:
        cache = django_caches["default"]
        cache.set("shared-client-test", 1)
        used.append((cache, cache.client))  # type: ignore[attr-defined]

    with cache_in(throwaway_redis.url, prefix="shared-client-test"):
        for _ in range(8):  # one after another: a shared client needs one connection
            thread = threading.Thread(target=use_the_cache)
            thread.start()
            thread.join()
        info: dict[str, Any] = throwaway_redis.client().info("clients")  # type: ignore[assignment]
        clients = info["connected_clients"]

    assert len({id(cache) for cache, _ in used}) == 8
    assert len({id(client) for _, client in used}) == 1
    shared = used[0][1]
    assert shared.get_client() is shared.get_client(write=True)  # and one redis.Redis in it
    assert clients == 2  # that one client's connection, and this probe's


@pytest.mark.django_db
def test_the_query_key_is_cachalots_for_catalog_reads_and_refused_early_for_the_rest() -> None:
    def compiler(qs: Any) -> Any:
        return qs.query.get_compiler(using="default")

    catalog_read = compiler(Product.objects.filter(is_active=True))
    assert query_cache_key(catalog_read) == get_query_cache_key(catalog_read)
    for uncachable in (Order.objects.all(), Product.objects.select_for_update()):
        with pytest.raises(UncachableQuery):
            query_cache_key(compiler(uncachable))
