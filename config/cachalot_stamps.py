"""The one adapter to cachalot's table stamps: the time of a table's last write, which cachalot
keeps in the default cache under a key of its own making and compares with the stamps stored
beside each cached query result.

`config.cache` needs the keys (to retry a stamp Redis did not take), the catalog edge cache
needs the values (to tell whether a stored page is still right). Both go through here, and
`config/tests/test_cachalot_stamps.py` pins the key format, so a cachalot upgrade that changes
it fails a test instead of silently serving stale pages.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from functools import cache as memoized
from typing import Any

from cachalot.settings import cachalot_settings
from django.apps import apps
from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisSerializer

Stamps = tuple[Any, ...]


def stamp_key(table: str, db_alias: str = "default") -> str:
    """cachalot's cache key (before the cache's prefix) for `table`'s stamp."""
    return str(cachalot_settings.CACHALOT_TABLE_KEYGEN(db_alias, table))


@memoized
def all_stamp_keys() -> frozenset[str]:
    """The stamp key of every table on every database (a table cachalot does not cache has a
    key that is never read: cheaper than asking which it caches)."""
    tables = {m._meta.db_table for m in apps.get_models(include_auto_created=True)}
    tables.update(cachalot_settings.CACHALOT_ADDITIONAL_TABLES)
    return frozenset(stamp_key(table, db) for db in settings.DATABASES for table in tables)


class StampReader:
    """Reads the stamps of `tables` from the default cache, on the event loop (no thread hop)."""

    def __init__(self, tables: Iterable[str]) -> None:
        cache = caches["default"]
        # The Redis cache's client (config/cache.py) knows which stamps this process failed to
        # write; other caches (the embedded default's in-process one) never fail to.
        self._invalidation_pending = getattr(
            getattr(cache, "client", None), "invalidation_pending", None
        )
        self._raw_keys = [stamp_key(table) for table in tables]
        self._keys = [cache.make_key(key) for key in self._raw_keys]
        self._url = settings.CACHE_REDIS_URL
        self._serializer = RedisSerializer()
        self._redis: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _client(self) -> Any:
        # An asyncio Redis client belongs to the loop it was made on (uvicorn has one).
        loop = asyncio.get_running_loop()
        if self._redis is None or self._loop is not loop:
            import redis.asyncio as aioredis

            self._redis = aioredis.Redis.from_url(
                self._url, socket_connect_timeout=0.25, socket_timeout=0.5
            )
            self._loop = loop
        return self._redis

    async def read(self) -> Stamps | None:
        """The stamps, or None when any is unknown (then nothing may be served or stored)."""
        if self._invalidation_pending and self._invalidation_pending(self._raw_keys):
            return None
        if not self._url:
            found = caches["default"].get_many(self._raw_keys)  # in-process cache: no I/O
            values = [found.get(k) for k in self._raw_keys]
        else:
            raw = await self._client().mget(self._keys)
            values = [None if v is None else self._serializer.loads(v) for v in raw]
        if any(v is None for v in values):
            return None
        return tuple(values)
