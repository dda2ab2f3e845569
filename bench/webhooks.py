"""The webhook phase: status changes delivered to 3 signed-webhook receivers, one of which fails
half the time. Measures deliveries per second and the PATCH latency with webhooks (and e-mail)
on, and fails the run if a delivery is lost, unsigned, or repeated under another id."""

from __future__ import annotations

import asyncio
import json
import random
import statistics
import threading
import time
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from bench.aclient import Pool
from bench.phases import FORWARD, Ctx, create_orders, pct
from bench.stack import StepError, log


class Receiver:
    """A real HTTP receiver on a thread; `fail_ratio` of its answers are 503s."""

    def __init__(self, name: str, fail_ratio: float, seed: int):
        self.name = name
        self.secret = ""
        self.lock = threading.Lock()
        self.requests = 0
        self.bad_signatures = 0
        # (order_id, status) -> webhook-ids seen; and the time of each 2xx answer
        self.ids: dict[tuple[int, str], set[str]] = defaultdict(set)
        self.ok: dict[tuple[int, str], int] = defaultdict(int)
        self.ok_times: list[float] = []
        rng = random.Random(seed)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    event = Webhook(receiver.secret).verify(body, dict(self.headers.items()))
                except WebhookVerificationError:
                    event = None
                with receiver.lock:
                    receiver.requests += 1
                    fail = rng.random() < fail_ratio
                    if event is None:
                        receiver.bad_signatures += 1
                    else:
                        key = (int(event["data"]["order_id"]), str(event["data"]["status_after"]))
                        receiver.ids[key].add(self.headers["webhook-id"])
                        if not fail:
                            receiver.ok[key] += 1
                            receiver.ok_times.append(time.perf_counter())
                status = 503 if fail or event is None else 204
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/{name}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


async def webhooks(ctx: Ctx, changes: int) -> dict[str, Any]:
    log(f"webhooks: {changes} status changes to 3 receivers (one failing half the time)")
    receivers = [
        Receiver("erp", 0.0, 1),
        Receiver("shipping", 0.0, 2),
        Receiver("flaky", 0.5, 3),
    ]
    await asyncio.to_thread(ctx.stack.start_notify_worker)
    pool = Pool("127.0.0.1", ctx.port, 8)
    endpoint_ids: list[int] = []
    try:
        # The same changes with no endpoint registered first (e-mail on): what the webhooks
        # add to the status change itself is the difference, measured in one run.
        _, base_ms = await _change_statuses(ctx, pool, ctx.customers[-4], changes)
        for r in receivers:
            code, body = await pool.request(
                "POST",
                "/api/webhooks/",
                token=ctx.staff_token,
                body={"url": r.url, "events": ["order.status_changed"], "description": r.name},
            )
            if code != 201:
                raise StepError(f"POST /api/webhooks/ -> {code}: {body[:300]!r}")
            hook = json.loads(body)
            r.secret = hook["secret"]
            endpoint_ids.append(int(hook["id"]))

        t0 = time.perf_counter()
        expected, patch_ms = await _change_statuses(ctx, pool, ctx.customers[-3], changes)
        t_sent = time.perf_counter()
        deadline = time.monotonic() + (90 if ctx.smoke else 600)
        while time.monotonic() < deadline:
            if all(expected <= set(r.ok) for r in receivers):
                break
            # A delivery whose every attempt failed is dead (listed for staff), not pending:
            # once nothing is pending, waiting longer changes nothing.
            if await asyncio.to_thread(_none_pending, ctx, endpoint_ids):
                break
            await asyncio.sleep(0.2)
        done = time.perf_counter()
        dead = await asyncio.to_thread(_dead, ctx, endpoint_ids)  # before the endpoints go
    finally:
        for pk in endpoint_ids:
            await pool.request("DELETE", f"/api/webhooks/{pk}/", token=ctx.staff_token)
        await pool.close()
        for r in receivers:
            r.stop()

    per_receiver = []
    for r in receivers:
        got = expected & set(r.ok)
        last = max(r.ok_times, default=t0)
        per_receiver.append(
            {
                "name": r.name,
                "requests": r.requests,
                "delivered": len(got),
                "lost": len(expected - got),
                "delivered_twice": sum(1 for k in got if r.ok[k] > 1),
                "ids_per_event_max": max((len(v) for v in r.ids.values()), default=0),
                "bad_signatures": r.bad_signatures,
                "deliveries_per_s": round(len(got) / max(last - t0, 1e-9), 1),
            }
        )
    delivered = sum(p["delivered"] for p in per_receiver)
    last_ok = max((t for r in receivers for t in r.ok_times), default=done)
    res: dict[str, Any] = {
        "changes": len(expected),
        "receivers": per_receiver,
        "lost": sum(p["lost"] for p in per_receiver) - dead,
        "dead": dead,
        "deliveries_per_s": round(delivered / max(last_ok - t0, 1e-9), 1),
        "send_s": round(t_sent - t0, 2),
        "patch_p50_ms": round(pct(patch_ms, 50), 2),
        "patch_p99_ms": round(pct(patch_ms, 99), 2),
        "patch_mean_ms": round(statistics.fmean(patch_ms), 2) if patch_ms else None,
        "patch_no_webhooks_p50_ms": round(pct(base_ms, 50), 2),
        "patch_no_webhooks_p99_ms": round(pct(base_ms, 99), 2),
    }
    log(
        f"  {delivered} deliveries, {res['deliveries_per_s']}/s; lost {res['lost']}, "
        f"dead after every attempt {dead}; "
        f"PATCH p50 {res['patch_p50_ms']} ms, p99 {res['patch_p99_ms']} ms (without endpoints "
        f"{res['patch_no_webhooks_p50_ms']} / {res['patch_no_webhooks_p99_ms']} ms); "
        f"requests per receiver {[p['requests'] for p in per_receiver]}"
    )
    if res["lost"]:
        ctx.fail(f"webhooks: {res['lost']} deliveries lost (neither delivered nor dead)")
    if dead:
        ctx.fail(f"webhooks: {dead} deliveries dead after the whole retry schedule")
    if any(p["ids_per_event_max"] > 1 for p in per_receiver):
        ctx.fail("webhooks: an event was delivered under more than one webhook-id")
    if any(p["bad_signatures"] for p in per_receiver):
        ctx.fail("webhooks: a delivery failed standardwebhooks verification")
    if len(expected) < changes:
        ctx.fail(f"webhooks: only {len(expected)} of {changes} changes were made")
    return res


def _none_pending(ctx: Ctx, endpoint_ids: list[int]) -> bool:
    rows = ctx.stack.sql(
        "SELECT count(*) FROM notifications_webhookdelivery "
        "WHERE endpoint_id = ANY(%s) AND status = 'pending'",
        (endpoint_ids,),
    )
    return int(rows[0][0]) == 0


def _dead(ctx: Ctx, endpoint_ids: list[int]) -> int:
    rows = ctx.stack.sql(
        "SELECT count(*) FROM notifications_webhookdelivery "
        "WHERE endpoint_id = ANY(%s) AND status = 'dead'",
        (endpoint_ids,),
    )
    return int(rows[0][0])


async def _change_statuses(
    ctx: Ctx, pool: Pool, owner: dict[str, Any], changes: int
) -> tuple[set[tuple[int, str]], list[float]]:
    """`changes` status changes of `owner`'s new orders by 8 concurrent staff connections;
    returns the (order, status) pairs made and each PATCH's latency in ms."""
    orders = await create_orders(ctx, pool, owner["token"], -(-changes // 3))
    queue: asyncio.Queue[int] = asyncio.Queue()
    for o in orders:
        queue.put_nowait(o)
    expected: set[tuple[int, str]] = set()
    patch_ms: list[float] = []
    sent = 0

    async def walker() -> None:
        nonlocal sent
        while not queue.empty():
            oid = queue.get_nowait()
            for st in FORWARD:
                if sent >= changes:
                    return
                sent += 1
                t = time.perf_counter()
                code, body = await pool.request(
                    "PATCH", f"/api/orders/{oid}/", token=ctx.staff_token, body={"status": st}
                )
                patch_ms.append((time.perf_counter() - t) * 1000)
                if code != 200:
                    raise StepError(f"PATCH /api/orders/{oid}/ -> {code}: {body[:300]!r}")
                expected.add((oid, st))

    await asyncio.gather(*(walker() for _ in range(8)))
    return expected, patch_ms
