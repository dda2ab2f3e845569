"""The sockets phase: many sockets held on one web process, what each costs in memory, and each
one receiving its own owner's event and no one else's."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bench.aclient import Pool
from bench.phases.context import Ctx
from bench.phases.events import Listener, create_orders, patch
from bench.stack import log, rss_kib


async def sockets_held(ctx: Ctx, n_sockets: int) -> dict[str, Any]:
    stack = ctx.stack
    pid = stack.web[0].pid
    n_owners = max(1, min(len(ctx.customers) - 2, n_sockets // 10))
    owners = ctx.customers[:n_owners]
    log(f"sockets held: {n_sockets} sockets for {n_owners} customers")
    pool = Pool("127.0.0.1", ctx.port, 8)
    order_of: dict[int, int] = {}

    async def make(o: dict[str, Any]) -> None:
        order_of[o["id"]] = (await create_orders(ctx, pool, o["token"], 1))[0]

    await asyncio.gather(*(make(o) for o in owners))
    await asyncio.sleep(1.0)
    rss_before = rss_kib(pid)
    sem = asyncio.Semaphore(64)
    listeners: list[tuple[int, Listener]] = []
    errors: list[str] = []

    async def open_one(i: int) -> None:
        owner = owners[i % n_owners]
        async with sem:
            try:
                ws = await ctx.ws(ctx.port, owner["token"], open_timeout=60)
            except Exception as exc:  # noqa: BLE001
                errors.append(repr(exc))
                return
        listeners.append((owner["id"], Listener(ws)))

    t0 = time.perf_counter()
    await asyncio.gather(*(open_one(i) for i in range(n_sockets)))
    connect_s = time.perf_counter() - t0
    await asyncio.sleep(2.0)
    rss_after = rss_kib(pid)
    log(
        f"  {len(listeners)} open in {connect_s:.1f} s ({len(errors)} failed); uvicorn RSS "
        f"{rss_before / 1024:.1f} -> {rss_after / 1024:.1f} MiB"
    )
    try:
        # group_add runs after accept(): let every join land before sending
        await asyncio.sleep(1.0)
        t1 = time.perf_counter()
        await asyncio.gather(
            *(patch(pool, ctx.staff_token, order_of[o["id"]], "processing") for o in owners)
        )
        deadline = time.monotonic() + (30 if ctx.smoke else 90)
        missing = len(listeners)
        while time.monotonic() < deadline:
            missing = sum(
                1 for uid, lst in listeners if (order_of[uid], "processing") not in lst.seen
            )
            if missing == 0:
                break
            await asyncio.sleep(0.1)
        deliver_s = time.perf_counter() - t1
        wrong = sum(1 for uid, lst in listeners for (oid, _st) in lst.seen if oid != order_of[uid])
        rss_events = rss_kib(pid)
    finally:
        await asyncio.gather(*(lst.close() for _, lst in listeners), return_exceptions=True)
        await pool.close()
    per = (rss_after - rss_before) * 1024 / max(len(listeners), 1)
    res = {
        "asked": n_sockets,
        "open": len(listeners),
        "connect_errors": len(errors),
        "connect_s": round(connect_s, 2),
        "received_own_event": len(listeners) - missing,
        "missing": missing,
        "foreign_events": wrong,
        "deliver_s": round(deliver_s, 2),
        "rss_before_mib": round(rss_before / 1024, 1),
        "rss_after_mib": round(rss_after / 1024, 1),
        "rss_after_events_mib": round(rss_events / 1024, 1),
        "bytes_per_idle_socket": round(per),
    }
    log(
        f"  received own event: {res['received_own_event']}/{len(listeners)} in "
        f"{deliver_s:.1f} s; foreign events {wrong}; {per / 1024:.1f} KiB per idle socket"
    )
    if errors:
        ctx.fail(f"sockets: {len(errors)} connections failed, e.g. {errors[0]}")
    if missing:
        ctx.fail(f"sockets: {missing} sockets did not receive their owner's event")
    if wrong:
        ctx.fail(f"sockets: {wrong} events reached a socket of another customer")
    stack.check_alive()
    return res
