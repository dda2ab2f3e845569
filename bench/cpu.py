"""CPU time spent per kind of process while a load ran, read from /proc (user + system time).

Every process on the machine is counted under the first group whose name appears in its command
line: on these shared 2-core machines it shows which process the work went to (the web process,
each Celery worker, PostgreSQL, Redis), so a throughput figure comes with where its cost lies.
"""

from __future__ import annotations

import os
from pathlib import Path

GROUPS = (
    ("web", "uvicorn"),
    ("notify worker", "-Q notify"),
    ("socket worker", "celery"),
    ("PostgreSQL", "postgres"),
    ("Redis", "redis-server"),
)
TICK = os.sysconf("SC_CLK_TCK")


def snapshot() -> dict[int, tuple[str, int]]:
    """Each counted process: its group and the CPU ticks it has used so far."""
    found: dict[int, tuple[str, int]] = {}
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        group = next((name for name, marker in GROUPS if marker in command), None)
        if group is not None:
            found[int(proc.name)] = (group, int(fields[11]) + int(fields[12]))
    return found


def process_ticks(pid: int) -> int:
    """The CPU ticks (user + system) one process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def us_per_unit(ticks: int, units: int) -> float:
    return ticks / TICK * 1e6 / max(units, 1)


def ms_per_unit(
    before: dict[int, tuple[str, int]], after: dict[int, tuple[str, int]], units: int
) -> dict[str, float]:
    """CPU milliseconds per unit of work (an order, say) by group, between two snapshots."""
    ticks: dict[str, int] = {}
    for pid, (group, used) in after.items():
        ticks[group] = ticks.get(group, 0) + used - before.get(pid, (group, 0))[1]
    return {g: round(t / TICK * 1000 / max(units, 1), 2) for g, t in ticks.items() if t > 0}
