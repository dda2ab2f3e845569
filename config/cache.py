"""A Redis cache that degrades to a miss when Redis is unreachable, so the API stays up."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from django.utils.functional import cached_property
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

_OUTAGE_ERRORS = (RedisConnectionError, RedisTimeoutError, OSError)
# After a failure, skip Redis for this long instead of paying a connect timeout per call.
_BACKOFF_SECONDS = 1.0

# Django makes a cache object per thread and per async context, so under ASGI every request got
# a new client and a new Redis connection. One client (and its thread-safe connection pools)
# per process and configuration is shared by all of them; redis-py resets its pools after fork.
_clients: dict[tuple[str, str], RedisCacheClient] = {}
_clients_lock = threading.Lock()


class _KeptRedisCacheClient(RedisCacheClient):
    """Django's client builds a `redis.Redis` (about 80 response callbacks) for every call;
    a Redis object is thread-safe, so keep one per connection pool."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._redis_by_pool: dict[int, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        pool = self._get_connection_pool(write)  # type: ignore[attr-defined]  # not in the stubs
        client = self._redis_by_pool.get(id(pool))
        if client is None:
            client = self._redis_by_pool.setdefault(id(pool), super().get_client(key, write=write))
        return client


class ResilientRedisCache(RedisCache):
    """Reads miss and writes are dropped while Redis is down; cachalot then reads the database.

    Cached entries cannot go stale across an outage: Redis here keeps nothing on disk, and a
    restarted Redis is empty. A write that could not invalidate during a short blip is bounded
    by CACHALOT_TIMEOUT.
    """

    _down_until = 0.0

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = _KeptRedisCacheClient
        self._client_key = (server, repr(sorted(params.get("OPTIONS", {}).items())))

    @cached_property
    def _cache(self) -> RedisCacheClient:
        with _clients_lock:
            client = _clients.get(self._client_key)
            if client is None:
                client = _clients[self._client_key] = super()._cache  # type: ignore[misc]
        return client

    def _available(self) -> bool:
        return time.monotonic() >= type(self)._down_until

    def _failed(self, exc: Exception) -> None:
        if self._available():
            logger.warning("cache unavailable, serving without it: %s", exc)
        type(self)._down_until = time.monotonic() + _BACKOFF_SECONDS

    def _guard(self, default: Any, method: str, *args: Any, **kwargs: Any) -> Any:
        if not self._available():
            return default
        try:
            return getattr(super(), method)(*args, **kwargs)
        except _OUTAGE_ERRORS as exc:
            self._failed(exc)
            return default

    def get(self, key: Any, default: Any = None, version: int | None = None) -> Any:
        return self._guard(default, "get", key, default, version)

    def get_many(self, keys: Any, version: int | None = None) -> Any:
        return self._guard({}, "get_many", keys, version)

    def set(self, *args: Any, **kwargs: Any) -> None:
        self._guard(None, "set", *args, **kwargs)

    def set_many(self, *args: Any, **kwargs: Any) -> Any:
        return self._guard([], "set_many", *args, **kwargs)

    def add(self, *args: Any, **kwargs: Any) -> bool:
        return bool(self._guard(False, "add", *args, **kwargs))

    def delete(self, *args: Any, **kwargs: Any) -> bool:
        return bool(self._guard(False, "delete", *args, **kwargs))

    def delete_many(self, *args: Any, **kwargs: Any) -> None:
        self._guard(None, "delete_many", *args, **kwargs)

    def has_key(self, *args: Any, **kwargs: Any) -> bool:
        return bool(self._guard(False, "has_key", *args, **kwargs))

    def incr(self, *args: Any, **kwargs: Any) -> Any:
        return self._guard(None, "incr", *args, **kwargs)

    def touch(self, *args: Any, **kwargs: Any) -> bool:
        return bool(self._guard(False, "touch", *args, **kwargs))

    def clear(self) -> None:
        self._guard(None, "clear")
