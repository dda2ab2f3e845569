"""The burst phase: many status changes at once, live or queued while the workers are stopped;
every event must reach the owner's socket(s)."""

from __future__ import annotations

import asyncio
import math
import time
from typing import Any

from bench.aclient import Pool
from bench.phases.context import Ctx
from bench.phases.events import FORWARD, Listener, create_orders, patch
from bench.stack import log


async def burst(
    ctx: Ctx,
    changes: int,
    *,
    ports: list[int] | None = None,
    label: str = "burst",
    queued_for: int = 0,
) -> dict[str, Any]:
    """`changes` status changes sent by 8 concurrent staff connections; every event must
    arrive on the owner's socket(s) (one per web process in `ports`).

    With `queued_for` = N, the workers are stopped while the changes are made, so every event
    waits in the broker; then N workers start, and the rate is the workers' own delivery
    rate (first event received to last), not the rate at which the senders make changes.
    """
    ports = ports or [ctx.port]
    owner = ctx.customers[-2]
    how = f"queued, then delivered by {queued_for} worker(s)" if queued_for else "live"
    log(
        f"{label}: {changes} status changes ({how}), 8 concurrent senders, sockets on "
        f"{len(ports)} web process(es)"
    )
    if queued_for:
        await asyncio.to_thread(ctx.stack.stop_workers)
    pools = [Pool("127.0.0.1", p, 8) for p in ports]
    n_orders = math.ceil(changes / 3)
    orders = await create_orders(ctx, pools[0], owner["token"], n_orders)
    listeners = [Listener(await ctx.ws(p, owner["token"])) for p in ports]
    queue: asyncio.Queue[int] = asyncio.Queue()
    for o in orders:
        queue.put_nowait(o)
    expected: set[tuple[int, str]] = set()
    sent = 0

    async def walker(k: int) -> None:
        nonlocal sent
        pool = pools[k % len(pools)]
        while not queue.empty():
            oid = queue.get_nowait()
            for st in FORWARD:
                if sent >= changes:
                    return
                sent += 1
                await patch(pool, ctx.staff_token, oid, st)
                expected.add((oid, st))

    t0 = time.perf_counter()
    try:
        await asyncio.gather(*(walker(k) for k in range(8)))
        t_sent = time.perf_counter()
        if queued_for:
            await asyncio.to_thread(ctx.stack.start_workers, queued_for)
        deadline = time.monotonic() + (30 if ctx.smoke else 60)
        while time.monotonic() < deadline:
            if all(expected <= set(lst.seen) for lst in listeners):
                break
            await asyncio.sleep(0.05)
    finally:
        for lst in listeners:
            await lst.close()
        for pool in pools:
            await pool.close()
    res: dict[str, Any] = {
        "changes": len(expected),
        "sockets": len(listeners),
        "send_s": round(t_sent - t0, 2),
        "queued_for": queued_for,
    }
    per_socket = []
    for lst in listeners:
        got = expected & set(lst.seen)
        lost = len(expected - got)
        times = [lst.seen[k] for k in got] or [t0]
        if queued_for:  # the workers' rate: first delivery to last
            rate = (len(got) - 1) / max(max(times) - min(times), 1e-9)
        else:
            rate = len(got) / max(max(times) - t0, 1e-9)
        per_socket.append(
            {
                "received": len(got),
                "lost": lost,
                "duplicate_ids": len(lst.ids) - len(set(lst.ids)),
                "unique_event_ids": len(set(lst.ids)),
                "events_per_s": round(rate, 1),
            }
        )
    res["per_socket"] = per_socket
    res["lost"] = sum(s["lost"] for s in per_socket)
    res["events_per_s"] = round(min(s["events_per_s"] for s in per_socket), 1)
    log(
        f"  sent {len(expected)}; per socket received "
        f"{[s['received'] for s in per_socket]}, lost {res['lost']}, "
        f"{res['events_per_s']} events/s delivered"
    )
    if res["lost"]:
        ctx.fail(f"{label}: {res['lost']} events lost of {len(expected)} x {len(listeners)}")
    if len(expected) < changes:
        ctx.fail(f"{label}: only {len(expected)} of {changes} changes were made")
    return res
