"""What django-redis lacks for our cache: one client per process, and a short back-off while
Redis is unreachable.

The settings name django-redis's `RedisCache` (cachalot knows it) with `IGNORE_EXCEPTIONS`, so
an unreachable Redis is a miss, and `shared_client` as its `CLIENT_CLASS`: the process's one
`ResilientRedisClient`, django-redis's client with one addition:

- Back-off: after a connection error or timeout, calls to that Redis fail at once for
  BACKOFF_SECONDS instead of each request waiting for a socket timeout.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable
from typing import Any, ClassVar

from django_redis.cache import RedisCache
from django_redis.client import DefaultClient
from django_redis.exceptions import ConnectionInterrupted
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

BACKOFF_SECONDS = 1.0
_OUTAGE_ERRORS = (RedisConnectionError, RedisTimeoutError, socket.timeout, OSError)

_lock = threading.Lock()


class ResilientRedisClient(DefaultClient):
    """django-redis's client with the back-off."""

    def __init__(self, server: Any, params: dict[str, Any], backend: Any) -> None:
        super().__init__(server, params, backend)
        self._down_until = 0.0

    def _guarded(self, call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if self._down_until > time.monotonic():
            raise ConnectionInterrupted(connection=None)
        try:
            return call(*args, **kwargs)
        except ConnectionInterrupted as exc:
            if isinstance(exc.__cause__, _OUTAGE_ERRORS):
                # At most once per back-off while Redis stays away.
                logger.warning("cache unavailable, serving without it: %s", exc.__cause__)
                self._down_until = time.monotonic() + BACKOFF_SECONDS
            raise

    def get(self, *args: Any, **kwargs: Any) -> Any:
        return self._guarded(super().get, *args, **kwargs)

    def set(self, *args: Any, **kwargs: Any) -> bool:
        return bool(self._guarded(super().set, *args, **kwargs))

    def add(self, *args: Any, **kwargs: Any) -> bool:
        return bool(self._guarded(super().add, *args, **kwargs))

    def incr(self, *args: Any, **kwargs: Any) -> int:
        return int(self._guarded(super().incr, *args, **kwargs))

    def delete(self, *args: Any, **kwargs: Any) -> int:
        return int(self._guarded(super().delete, *args, **kwargs))

    def delete_many(self, *args: Any, **kwargs: Any) -> int:
        return int(self._guarded(super().delete_many, *args, **kwargs))

    def has_key(self, *args: Any, **kwargs: Any) -> bool:
        return bool(self._guarded(super().has_key, *args, **kwargs))

    def touch(self, *args: Any, **kwargs: Any) -> bool:
        return bool(self._guarded(super().touch, *args, **kwargs))

    def clear(self, *args: Any, **kwargs: Any) -> None:
        self._guarded(super().clear, *args, **kwargs)

    def get_many(self, *args: Any, **kwargs: Any) -> dict[Any, Any]:
        result: dict[Any, Any] = self._guarded(super().get_many, *args, **kwargs)
        return result

    def set_many(self, *args: Any, **kwargs: Any) -> None:
        self._guarded(super().set_many, *args, **kwargs)


# Django makes a cache object per thread and per async context (under ASGI: per request), and
# django-redis a client for each, which builds its serializer, compressor, connection factory
# and a `redis.Redis` (about 80 response callbacks to copy): ~0.1 ms a request, measured. The
# client is thread-safe (redis-py's pools are, and django-redis shares them per process), so
# one per process and configuration serves them all; redis-py resets its pools after a fork.
_clients: dict[tuple[str, str], ResilientRedisClient] = {}


def shared_client(server: Any, params: dict[str, Any], backend: Any) -> ResilientRedisClient:
    """django-redis's CLIENT_CLASS: the process's one client for this configuration."""
    key = (str(server), repr(sorted(params.items(), key=str)))
    client = _clients.get(key)
    if client is None:
        with _lock:
            client = _clients.get(key)
            if client is None:
                client = _clients[key] = ResilientRedisClient(server, params, backend)
    return client


class ResilientRedisCache(RedisCache):
    """django-redis's cache with `shared_client` and IGNORE_EXCEPTIONS, for code that builds a
    cache from a URL alone (accounts' throttle tests). The settings name django-redis's own
    class with the same OPTIONS: cachalot recognises cache backends by class path."""

    # No longer read: the back-off is per client, so per Redis. Kept only because
    # accounts/tests/test_throttles.py still resets it.
    _down_until: ClassVar[float] = 0.0

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        options = {
            "CLIENT_CLASS": "config.cache.shared_client",
            "IGNORE_EXCEPTIONS": True,
            **params.get("OPTIONS", {}),
        }
        super().__init__(server, {**params, "OPTIONS": options})
