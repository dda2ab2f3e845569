"""The webhook phase: status changes delivered to 3 signed-webhook receivers, one of which fails
half the time. Measures deliveries per second and the PATCH latency with webhooks (and e-mail)
on, and fails the run if a delivery is lost, unsigned, or repeated under another id."""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import random
import statistics
import threading
import time
from collections import defaultdict
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing.connection import Connection
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from bench.aclient import Pool
from bench.phases.context import Ctx, pct
from bench.phases.events import FORWARD, create_orders
from bench.phases.ws_latency import ws_latency
from bench.stack import StepError, log


def _serve(fail_ratio: float, seed: int, control: Connection) -> None:
    """A receiver's own process: answers each POST at once (503 for `fail_ratio` of them, else
    204) and keeps what came until the parent takes it; the parent verifies the signatures, so
    no receiver work shares the GIL with the bench's measuring client."""
    # A receiver is another company's system, on its own machine in any real deployment: on
    # this shared one it yields the CPU to the stack under test.
    os.nice(10)
    rng = random.Random(seed)
    lock = threading.Lock()
    # (monotonic time, answered status, webhook-* headers, body)
    records: list[tuple[float, int, dict[str, str], bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = {k.lower(): v for k, v in self.headers.items() if k.lower() in HEADERS}
            with lock:
                status = 503 if rng.random() < fail_ratio else 204
                records.append((time.monotonic(), status, headers, body))
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    control.send(server.server_address[1])
    while True:
        ask = control.recv()
        with lock:
            taken = records[:]
            records.clear()
        control.send(taken)
        if ask == "stop":
            server.shutdown()
            server.server_close()
            return


HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")


class Receiver:
    """A real HTTP receiver in a process of its own; `fail_ratio` of its answers are 503s.

    What it received is verified here with `standardwebhooks` as it is taken (`delivered()`,
    polled while the phase waits; the package refuses timestamps over 5 minutes old)."""

    def __init__(self, name: str, fail_ratio: float, seed: int):
        self.name = name
        self.secret = ""
        ctx = multiprocessing.get_context("spawn")
        self._control, child = ctx.Pipe()
        self._process = ctx.Process(target=_serve, args=(fail_ratio, seed, child), daemon=True)
        self._process.start()
        if not self._control.poll(60):
            raise StepError(f"webhook receiver {name} did not start")
        self.url = f"http://127.0.0.1:{self._control.recv()}/{name}"
        self.requests = 0
        self.bad_signatures = 0
        self.ids: dict[tuple[int, str], set[str]] = defaultdict(set)  # (order, status) -> ids
        self.ok: dict[tuple[int, str], int] = defaultdict(int)  # verified and answered 2xx
        self.ok_times: list[float] = []

    def _take(self, ask: str) -> None:
        self._control.send(ask)
        verifier = Webhook(self.secret) if self.secret else None
        for at, status, headers, body in self._control.recv():
            self.requests += 1
            try:
                if verifier is None:
                    raise WebhookVerificationError("no endpoint secret yet")
                event = verifier.verify(body, headers)
                key = (int(event["data"]["order_id"]), str(event["data"]["status_after"]))
            except (WebhookVerificationError, KeyError, TypeError, ValueError):
                self.bad_signatures += 1
                continue
            self.ids[key].add(headers["webhook-id"])
            if status == 204:
                self.ok[key] += 1
                self.ok_times.append(at)

    def delivered(self) -> set[tuple[int, str]]:
        """The (order, status) pairs received, verified and answered 2xx so far."""
        self._take("take")
        return set(self.ok)

    def stop(self) -> None:
        self._take("stop")
        self._process.join(10)


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
        # add to the status change itself is the difference, measured in one run. Once one
        # at a time (the PATCH's answer and the socket's event, as the ws phase times them),
        # then by 8 concurrent senders, which keep both cores busy.
        sequential = min(300, changes)
        plain = ctx.customers[-5]  # no e-mail address: as a status change was before channels
        await asyncio.to_thread(
            ctx.stack.sql,
            "UPDATE accounts_user SET email = '' WHERE id = %s RETURNING id",
            (plain["id"],),
        )
        seq_without = await ws_latency(
            ctx, sequential, owner=plain, label="webhooks: no endpoint, no e-mail"
        )
        _, base_ms = await _change_statuses(ctx, pool, ctx.customers[-4], changes)
        # Those changes' e-mails are still going out: let them, so the timing with endpoints
        # measures its own deliveries, not this backlog.
        await asyncio.to_thread(_quiet, ctx)
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

        seq_with = await ws_latency(
            ctx, sequential, owner=ctx.customers[-6], label="webhooks: 3 endpoints, e-mail on"
        )
        t0 = time.monotonic()
        expected, patch_ms = await _change_statuses(
            ctx, pool, ctx.customers[-3], changes, receivers
        )
        t_sent = time.monotonic()
        deadline = time.monotonic() + (90 if ctx.smoke else 600)
        while time.monotonic() < deadline:
            if all(expected <= r.delivered() for r in receivers):
                break
            # A delivery whose every attempt failed is dead (listed for staff), not pending:
            # once nothing is pending, waiting longer changes nothing.
            if await asyncio.to_thread(_none_pending, ctx, endpoint_ids):
                break
            await asyncio.sleep(0.2)
        done = time.monotonic()
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
        "sequential": {"without": seq_without, "with": seq_with},
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


def _quiet(ctx: Ctx, seconds: float = 300) -> None:
    """Wait until every order event is pushed and every e-mail sent (or dead)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        rows = ctx.stack.sql(
            "SELECT (SELECT count(*) FROM notifications_orderevent WHERE delivered_at IS NULL)"
            " + (SELECT count(*) FROM notifications_emaildelivery WHERE status = 'pending')"
        )
        if int(rows[0][0]) == 0:
            return
        time.sleep(0.5)
    raise StepError(f"webhooks: events or e-mails still pending after {seconds:g} s")


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
    ctx: Ctx, pool: Pool, owner: dict[str, Any], changes: int, receivers: Sequence[Receiver] = ()
) -> tuple[set[tuple[int, str]], list[float]]:
    """`changes` status changes of `owner`'s new orders by 8 concurrent staff connections;
    returns the (order, status) pairs made and each PATCH's latency in ms. What `receivers`
    got is verified every few seconds meanwhile (well inside standardwebhooks' 5 minutes)."""
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

    async def verifier() -> None:
        while True:
            await asyncio.sleep(5)
            for r in receivers:
                r.delivered()

    checking = asyncio.create_task(verifier())
    try:
        await asyncio.gather(*(walker() for _ in range(8)))
    finally:
        checking.cancel()
    return expected, patch_ms
