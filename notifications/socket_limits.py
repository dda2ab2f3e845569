"""How fast a client may open sockets and send on them: token buckets in the web process's memory.

A flooding client reconnects as soon as it is closed, so each of its frames would cost a whole
handshake: the token's signature, a database lookup, four channel-layer round trips (joining and
leaving two groups). The opens limit is checked right after the signature, before any of that,
and a refused open is held for a moment before it is closed: a client that retries at once
waits instead of costing the server (and the machine's other CPU) another handshake.

The buckets live on the process's event loop (one thread: no lock). They are per web process,
which is what they protect; N processes admit N times the rate.
"""

from __future__ import annotations

import asyncio
import time

from django.conf import settings

HOLD_SECONDS = 2.0  # how long a refused open waits before it is closed
HOLD_PER_USER = 2  # more concurrent refusals than this for one user are closed at once
HOLD_MAX = 512  # and more than this in all (each held one is a connection and a coroutine)
PRUNE_ABOVE = 10_000  # buckets kept before the full (idle) ones are dropped

# One ping a second on average, ten at once: the live page sends one every 25 s.
MESSAGES_PER_SECOND = 1.0
MESSAGES_BURST = 10


class TokenBucket:
    """`burst` at once, refilled at `per_second`."""

    __slots__ = ("burst", "per_second", "stamp", "tokens")

    def __init__(self, burst: float, per_second: float) -> None:
        self.burst, self.per_second = burst, per_second
        self.tokens, self.stamp = burst, time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.per_second)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False

    def full(self) -> bool:
        return self.tokens + (time.monotonic() - self.stamp) * self.per_second >= self.burst


class SocketOpens:
    """At most WS_OPENS_PER_MINUTE socket opens per user (as many at once), per process."""

    def __init__(self) -> None:
        self._buckets: dict[int, TokenBucket] = {}
        self._held: dict[int, int] = {}
        self._held_total = 0

    def _bucket(self, user_id: int, per_minute: int) -> TokenBucket:
        bucket = self._buckets.get(user_id)
        if bucket is None or bucket.burst != per_minute:
            if len(self._buckets) >= PRUNE_ABOVE:
                self._buckets = {k: b for k, b in self._buckets.items() if not b.full()}
            bucket = self._buckets[user_id] = TokenBucket(per_minute, per_minute / 60)
        return bucket

    async def admit(self, user_id: int) -> bool:
        """True to go on with the open; False (after holding it a moment) to refuse it."""
        per_minute = settings.WS_OPENS_PER_MINUTE
        if per_minute <= 0 or self._bucket(user_id, per_minute).take():
            return True
        held = self._held.get(user_id, 0)
        if held < HOLD_PER_USER and self._held_total < HOLD_MAX:
            self._held[user_id] = held + 1
            self._held_total += 1
            try:
                await asyncio.sleep(HOLD_SECONDS)
            finally:
                self._held_total -= 1
                if self._held[user_id] <= 1:
                    del self._held[user_id]
                else:
                    self._held[user_id] -= 1
        return False

    def reset(self) -> None:
        self._buckets.clear()


socket_opens = SocketOpens()
