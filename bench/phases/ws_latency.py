"""The ws phase: a status change's time to its event on the owner's socket, one change at a time."""

from __future__ import annotations

import asyncio
import math
import statistics
import time
from typing import Any

from bench.aclient import Pool
from bench.phases.context import Ctx, pct
from bench.phases.events import FORWARD, Listener, create_orders, patch
from bench.stack import log


async def ws_latency(
    ctx: Ctx, changes: int, *, owner: dict[str, Any] | None = None, label: str = ""
) -> dict[str, Any]:
    """Sequential status changes of `owner`'s orders: the time from each PATCH's start to its
    answer, and to its event on the owner's socket."""
    label = label or f"{ctx.stack.label}: status change -> socket latency"
    log(f"{label} over {changes} changes (sequential)")
    owner = owner or ctx.customers[-1]
    pool = Pool("127.0.0.1", ctx.port, 4)
    warm = 3
    orders = await create_orders(ctx, pool, owner["token"], math.ceil((changes + warm) / 3))
    listener = Listener(await ctx.ws(ctx.port, owner["token"]))
    steps = [(o, s) for o in orders for s in FORWARD]
    lat: list[float] = []
    patch_ms: list[float] = []
    try:
        for i, (oid, st) in enumerate(steps[: changes + warm]):
            fut = listener.expect((oid, st))
            t0 = time.perf_counter()
            await patch(pool, ctx.staff_token, oid, st)
            answered = time.perf_counter()
            # the first change also proves the worker is up: give it time to start
            t1 = await asyncio.wait_for(fut, 60 if i == 0 else 15)
            if i >= warm:
                lat.append((t1 - t0) * 1000)
                patch_ms.append((answered - t0) * 1000)
    except TimeoutError:
        ctx.fail(f"ws latency: no event after a status change ({len(lat)} received)")
    finally:
        await listener.close()
        await pool.close()
    res = {
        "changes": len(lat),
        "p50_ms": round(pct(lat, 50), 2),
        "p99_ms": round(pct(lat, 99), 2),
        "max_ms": round(max(lat, default=float("nan")), 2),
        "mean_ms": round(statistics.fmean(lat), 2) if lat else None,
        "patch_p50_ms": round(pct(patch_ms, 50), 2),
        "patch_p99_ms": round(pct(patch_ms, 99), 2),
    }
    log(
        f"  socket p50 {res['p50_ms']} ms, p99 {res['p99_ms']} ms, max {res['max_ms']} ms; "
        f"PATCH answered p50 {res['patch_p50_ms']} ms, p99 {res['patch_p99_ms']} ms"
    )
    return res
