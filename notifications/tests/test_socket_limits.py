"""The socket opens limit and the per-socket message bucket, in process (the live stack's tests
in test_revocation.py show them against bin/web)."""

from __future__ import annotations

import asyncio

import pytest
from django.test import override_settings

from notifications import socket_limits
from notifications.socket_limits import SocketOpens, TokenBucket


@pytest.fixture(autouse=True)
def _short_hold(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket_limits, "HOLD_SECONDS", 0.05)


def test_a_bucket_gives_its_burst_then_refills_at_its_rate(monkeypatch: pytest.MonkeyPatch):
    now = [100.0]
    monkeypatch.setattr(socket_limits.time, "monotonic", lambda: now[0])
    bucket = TokenBucket(3, 0.5)
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]
    now[0] += 1.9
    assert bucket.take() is False
    now[0] += 0.1
    assert (bucket.take(), bucket.take()) == (True, False)
    now[0] += 60
    assert bucket.full()


@override_settings(WS_OPENS_PER_MINUTE=3)
def test_opens_past_the_limit_are_refused_for_that_user_only():
    async def scenario() -> tuple[list[bool], bool]:
        opens = SocketOpens()
        first = [await opens.admit(1) for _ in range(4)]
        return first, await opens.admit(2)

    first, other = asyncio.run(scenario())
    assert first == [True, True, True, False]
    assert other is True


@override_settings(WS_OPENS_PER_MINUTE=1)
def test_at_most_two_refusals_a_user_are_held_the_others_are_refused_at_once(monkeypatch):
    monkeypatch.setattr(socket_limits, "HOLD_SECONDS", 0.5)

    async def scenario() -> list[float]:
        opens = SocketOpens()
        assert await opens.admit(7)
        loop = asyncio.get_running_loop()

        async def timed() -> float:
            started = loop.time()
            assert not await opens.admit(7)
            return loop.time() - started

        return sorted(await asyncio.gather(*(timed() for _ in range(4))))

    waits = asyncio.run(scenario())
    assert waits[0] < 0.1 and waits[1] < 0.1
    assert waits[2] >= 0.45 and waits[3] >= 0.45


@override_settings(WS_OPENS_PER_MINUTE=0)
def test_zero_is_no_limit():
    async def scenario() -> list[bool]:
        opens = SocketOpens()
        return [await opens.admit(1) for _ in range(100)]

    assert all(asyncio.run(scenario()))
