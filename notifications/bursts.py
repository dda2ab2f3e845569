"""Tasks queued once per burst of writes, not once per write.

A write asks for its task only when none is queued and not yet started (a cache mark); the task,
once started, takes round after round of work until none is left, the mark still set so writes
meanwhile queue nothing more. Under load one task does what many writes asked for; when idle a
write's task starts at once, as before. The mark expires after QUEUED_SECONDS, so a lost task
holds nothing up for longer; the sweep covers the rest.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.cache import cache

QUEUED_SECONDS = 5


def burst_request(key: str, task: Any, *args: Any) -> None:
    """Queue `task(*args)` unless one is queued under `key` and has not started. While the
    cache is unreachable nothing is queued: the broker is then usually unreachable too."""
    if not cache.add(key, 1, QUEUED_SECONDS):
        return
    try:
        task.delay(*args)
    except BaseException:
        cache.delete(key)  # the next write tries again
        raise


def burst_drain(key: str, step: Callable[[], int], *, rounds: int) -> bool:
    """Run `step` (one round of work; returns how much it did) until a round finds nothing, at
    most `rounds` times. When a round finds nothing the mark is cleared and `step` runs once
    more, since a write may have seen the mark just before it went; if that finds work the mark
    is set again. Returns False when the rounds ran out with work perhaps left: the caller then
    queues a new task, so one busy task does not hold a worker thread forever."""
    for _round in range(rounds):
        if step():
            continue
        cache.delete(key)
        if not step():
            return True
        cache.add(key, 1, QUEUED_SECONDS)  # or a new task is queued: both work, safely
    cache.delete(key)
    return False
