"""Rate limits for signing in, registering and refreshing: per client address and per username.

Counters live in the shared cache (Redis), so every web process counts together: per window,
with the previous window's count weighted in, so a window's boundary grants no fresh burst.
While Redis is unreachable each process counts in its own memory instead: a limit then holds
per process (N web processes let through at most N times the rate), and a restarted process
starts from zero. Throttling never switches off.
"""

from __future__ import annotations

import functools
import threading
import time
from typing import Any

from django.conf import settings
from django.core.cache import cache as default_cache
from django.http import HttpRequest
from ninja.throttling import BaseThrottle

# Throttled lived here: the import keeps working.
from common.errors import Throttled as Throttled

_PERIODS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hour": 3600, "d": 86400, "day": 86400}


@functools.lru_cache(maxsize=8)
def _parse_rate(rate: str) -> tuple[int, int]:
    count, _, unit = rate.partition("/")
    return int(count), _PERIODS[unit.strip()]


def _rate() -> tuple[int, int]:
    """(requests, seconds) of AUTH_THROTTLE_RATE ("20/min"), read on each call: tests change it."""
    return _parse_rate(settings.AUTH_THROTTLE_RATE)


def _window_left(window: int, now: float) -> float:
    return max(1.0, window - (now % window))


class _LocalCounters:
    """This process's own window counters, for while the shared cache is down."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, tuple[float, int]] = {}  # key -> (expires at, count)

    def incr(self, key: str, expires: float, now: float) -> int:
        with self._lock:
            if len(self._counts) > 100_000:  # an attacker's many keys: drop the expired ones
                self._counts = {k: v for k, v in self._counts.items() if v[0] > now}
            _, count = self._counts.get(key, (expires, 0))
            self._counts[key] = (expires, count + 1)
            return count + 1

    def reset(self, key: str) -> None:
        with self._lock:
            self._counts.pop(key, None)

    def get(self, key: str, now: float) -> int:
        with self._lock:
            expires, count = self._counts.get(key, (0.0, 0))
            return count if expires > now else 0


_local = _LocalCounters()


def _key(name: str, window: int, now: float) -> str:
    return f"throttle:{name}:{int(now // window)}"


def _estimate(current: int, previous: int, window: int, now: float) -> float:
    """Hits in the last `window` seconds, the previous window's weighted by how much of it that
    still covers: no fresh allowance at a window's boundary (Cloudflare's sliding window)."""
    return current + previous * (1 - (now % window) / window)


def counter_incr(name: str, *, window: int, cache: Any = None, now: float | None = None) -> float:
    """Count one more hit on `name`; returns the hits in the last `window` seconds, this one
    included (an estimate, see `_estimate`)."""
    cache = cache or default_cache
    now = time.time() if now is None else now
    key, previous_key = _key(name, window, now), _key(name, window, now - window)
    keep = 2 * window + 1  # a window's count is still read during the next one
    cache.add(key, 0, timeout=keep)
    try:
        current = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=keep)
        current = 1
    if current is None:  # django-redis with IGNORE_EXCEPTIONS while Redis is down
        expires = (now // window + 2) * window
        current = _local.incr(key, expires, now)
        return _estimate(current, _local.get(previous_key, now), window, now)
    return _estimate(int(current), int(cache.get(previous_key) or 0), window, now)


def counter_get(name: str, *, window: int, cache: Any = None, now: float | None = None) -> float:
    cache = cache or default_cache
    now = time.time() if now is None else now
    counts = []
    for key in (_key(name, window, now), _key(name, window, now - window)):
        counts.append(max(int(cache.get(key) or 0), _local.get(key, now)))
    return _estimate(counts[0], counts[1], window, now)


def counter_reset(name: str, *, cache: Any = None) -> None:
    """Forget the recent counts of `name` (tests; an operator unlocking an account)."""
    cache = cache or default_cache
    now = time.time()
    window = _rate()[1]
    for key in (_key(name, window, now), _key(name, window, now - window)):
        cache.delete(key)
        _local.reset(key)


def client_address(request: HttpRequest) -> str:
    """The address throttles count by: the peer's, or what NUM_PROXIES trusted proxies say."""
    return BaseThrottle().get_ident(request) or "unknown"


class ClientIPThrottle(BaseThrottle):
    """Per client address and scope, at the rate in AUTH_THROTTLE_RATE (read on each request).

    The admin login counts on the same "login" counter as `POST /api/token/`.
    """

    def __init__(self, scope: str):
        self.scope = scope

    def allow_request(self, request: HttpRequest) -> bool:
        limit, window = _rate()
        return counter_incr(f"{self.scope}:ip:{client_address(request)}", window=window) <= limit

    def wait(self) -> float:
        return _window_left(_rate()[1], time.time())


def _username_key(username: str) -> str:
    return f"login-failures:user:{username.strip().lower()}"


def login_failures_check(*, username: str) -> None:
    """Refuse (429) a sign-in as `username` once it has had its quota of wrong passwords in the
    window, from whatever addresses: the brute force of one account from many."""
    limit, window = _rate()
    if counter_get(_username_key(username), window=window) >= limit:
        raise Throttled(_window_left(window, time.time()))


def login_failure_record(*, username: str) -> None:
    counter_incr(_username_key(username), window=_rate()[1])
