"""What the socket phases share: orders to change, staff status changes, and a socket listener."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from bench.aclient import Pool
from bench.phases.context import Ctx
from bench.stack import StepError

FORWARD = ("processing", "shipped", "delivered")


async def create_orders(ctx: Ctx, pool: Pool, token: str, count: int) -> list[int]:
    pids = ctx.product_ids[10:60]

    async def one(i: int) -> int:
        status, body = await pool.request(
            "POST",
            "/api/orders/",
            token=token,
            body={"items": [{"product_id": pids[i % len(pids)], "quantity": 1}]},
        )
        if status != 201:
            raise StepError(f"POST /api/orders/ -> {status}: {body[:300]!r}")
        return int(json.loads(body)["id"])

    return list(await asyncio.gather(*(one(i) for i in range(count))))


class Listener:
    """Reads one socket; records (order_id, new_status) -> receipt time, and event ids."""

    def __init__(self, ws: Any):
        self.ws = ws
        self.seen: dict[tuple[int, str], float] = {}
        self.ids: list[int] = []
        self.waiters: dict[tuple[int, str], asyncio.Future[float]] = {}
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        async for raw in self.ws:
            t = time.perf_counter()
            msg = json.loads(raw)
            if "order_id" not in msg:
                continue
            key = (int(msg["order_id"]), str(msg["new_status"]))
            if "id" in msg:  # our events carry an id; the reference's do not
                self.ids.append(int(msg["id"]))
            self.seen.setdefault(key, t)
            fut = self.waiters.pop(key, None)
            if fut is not None and not fut.done():
                fut.set_result(t)

    def expect(self, key: tuple[int, str]) -> asyncio.Future[float]:
        fut: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        if key in self.seen:
            fut.set_result(self.seen[key])
        else:
            self.waiters[key] = fut
        return fut

    async def close(self) -> None:
        try:
            await asyncio.wait_for(self.ws.close(), 5)
        except (TimeoutError, OSError):
            pass
        self.task.cancel()


async def patch(pool: Pool, staff: str, order_id: int, status: str) -> None:
    code, body = await pool.request(
        "PATCH", f"/api/orders/{order_id}/", token=staff, body={"status": status}
    )
    if code != 200:
        raise StepError(
            f"PATCH /api/orders/{order_id}/ {{'status': {status!r}}} -> {code}: {body[:300]!r}"
        )
