"""A Redis cache that degrades to a miss when Redis is unreachable, so the API stays up."""

from __future__ import annotations

import logging
import time
from typing import Any

from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

_OUTAGE_ERRORS = (RedisConnectionError, RedisTimeoutError, OSError)
# After a failure, skip Redis for this long instead of paying a connect timeout per call.
_BACKOFF_SECONDS = 1.0


class ResilientRedisCache(RedisCache):
    """Reads miss and writes are dropped while Redis is down; cachalot then reads the database.

    Cached entries cannot go stale across an outage: Redis here keeps nothing on disk, and a
    restarted Redis is empty. A write that could not invalidate during a short blip is bounded
    by CACHALOT_TIMEOUT.
    """

    _down_until = 0.0

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
