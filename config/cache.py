"""What django-redis lacks for our cache: one client per process, a short back-off while Redis
is unreachable, and cachalot invalidations that are retried until Redis has them.

The settings name django-redis's `RedisCache` (cachalot knows it) with `IGNORE_EXCEPTIONS`, so
an unreachable Redis is a miss, and `shared_client` as its `CLIENT_CLASS`: the process's one
`ResilientRedisClient`, django-redis's client with two additions:

- Back-off: after a connection error or timeout, calls to that Redis fail at once for
  BACKOFF_SECONDS instead of each request waiting for a socket timeout.
- Invalidations: cachalot invalidates a table by writing its stamp (the time of the write) when
  the transaction commits. If that write fails (Redis stalled, timed out, or we were backing
  off), django-redis would drop it and every process would keep serving the table's cached
  queries until CACHALOT_TIMEOUT. Here the client remembers the stamps; a thread writes them
  again, with the current time, every RETRY_SECONDS until Redis takes them, and until then this
  process reads no cached query of those tables (a miss: the database answers).

Other processes cannot serve the old rows for longer than that either, because they read the
same Redis: while it does not answer them they miss and read the database, and once it answers
again it answers the retry too, which lands within RETRY_SECONDS plus a round trip and makes
every copy cached before it stale (the edge cache's stamps change with it). Not covered: the
writing process dying, or losing only its own route to Redis, before a retry lands; then
CACHALOT_TIMEOUT bounds it.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from cachalot.settings import cachalot_settings
from django_redis.client import DefaultClient
from django_redis.exceptions import ConnectionInterrupted
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from config.cachalot_stamps import all_stamp_keys

logger = logging.getLogger(__name__)

BACKOFF_SECONDS = 1.0
RETRY_SECONDS = 0.25
_OUTAGE_ERRORS = (RedisConnectionError, RedisTimeoutError, socket.timeout, OSError)

# One lock for every client's pending stamps and the retry thread.
_lock = threading.Lock()
_retrying: set[ResilientRedisClient] = set()
_retry_thread: threading.Thread | None = None


class ResilientRedisClient(DefaultClient):
    """django-redis's client with the back-off and the retried invalidations."""

    def __init__(self, server: Any, params: dict[str, Any], backend: Any) -> None:
        super().__init__(server, params, backend)
        self._down_until = 0.0
        # Stamps not written yet: key (unprefixed, as cachalot names it) -> failure number.
        self._pending: dict[str, int] = {}
        self._failures = 0

    # --- back-off -------------------------------------------------------------------------

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

    # --- invalidations --------------------------------------------------------------------

    def invalidation_pending(self, keys: Iterable[str]) -> bool:
        """Whether any of these stamps failed to reach Redis and has not been written since."""
        pending = self._pending
        return bool(pending) and any(k in pending for k in keys)

    def get_many(self, keys: Any, *args: Any, **kwargs: Any) -> dict[Any, Any]:
        keys = list(keys)
        if self.invalidation_pending(keys):
            return {}  # the table changed and Redis does not know yet: read the database
        result: dict[Any, Any] = self._guarded(super().get_many, keys, *args, **kwargs)
        return result

    def set_many(self, data: dict[Any, Any], *args: Any, **kwargs: Any) -> None:
        pending = self._pending_among(data)
        try:
            self._guarded(super().set_many, data, *args, **kwargs)
        except ConnectionInterrupted:
            self._remember([k for k in data if k in all_stamp_keys()])
            raise
        if pending:
            # Stamps written now (a fill after a miss writes them too) are as good as a retry.
            self._written(pending)

    def _pending_among(self, keys: Iterable[str]) -> dict[str, int]:
        if not self.invalidation_pending(keys):
            return {}
        with _lock:
            return {k: self._pending[k] for k in keys if k in self._pending}

    def _remember(self, stamps: list[str]) -> None:
        global _retry_thread
        if not stamps:
            return
        with _lock:
            for key in stamps:
                self._failures += 1
                self._pending[key] = self._failures
            _retrying.add(self)
            if _retry_thread is None:
                logger.warning("cache: an invalidation did not reach Redis; retrying it")
                _retry_thread = threading.Thread(
                    target=_retry_pending, name="cache-invalidation-retry", daemon=True
                )
                _retry_thread.start()

    def _written(self, failures: dict[str, int]) -> None:
        """These stamps are in Redis, unless one failed again since (a later failure number)."""
        with _lock:
            for key, failure in failures.items():
                if self._pending.get(key) == failure:
                    del self._pending[key]

    def retry_pending(self) -> bool:
        """Write the pending stamps with the current time, ignoring the back-off (this probes
        it). Whether none is pending now."""
        with _lock:
            failures = dict(self._pending)
        if failures:
            timeout_ms = int(cachalot_settings.CACHALOT_TIMEOUT * 1000)
            now = self.encode(time.time())
            pipeline = DefaultClient.get_client(self, write=True).pipeline()
            for key in failures:
                pipeline.set(self.make_key(key), now, px=timeout_ms)
            pipeline.execute()
            self._down_until = 0.0
            self._written(failures)
            logger.warning("cache: %d invalidation(s) written on retry", len(failures))
        return not self._pending

    def discard_pending(self) -> None:
        """Forget the pending stamps: for a client whose Redis is being thrown away (tests)."""
        with _lock:
            self._pending.clear()
            _retrying.discard(self)


def _retry_pending() -> None:
    global _retry_thread
    while True:
        time.sleep(RETRY_SECONDS)
        with _lock:
            clients = list(_retrying)
            if not clients:
                _retry_thread = None
                return
        for client in clients:
            try:
                done = client.retry_pending()
            except Exception as exc:  # noqa: BLE001 - whatever failed, try again next turn
                logger.debug("cache: invalidation retry failed: %s", exc)
                continue
            if done:
                with _lock:
                    if not client._pending:
                        _retrying.discard(client)


def _after_fork_in_child() -> None:
    # The parent goes on retrying its own stamps; a child starts with none and no thread.
    global _lock, _retry_thread
    _lock = threading.Lock()
    _retry_thread = None
    for client in _retrying:
        client._pending.clear()
    _retrying.clear()


os.register_at_fork(after_in_child=_after_fork_in_child)


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
