"""The measurements. Each returns a dict for results.json; problems go to `ctx.fail(...)`.

The same functions measure our stack and the brief's reference design (bench/reference): what
differs between the two (tables, how a socket carries its token, the event's fields) comes from
the `Stack` in `ctx.stack`."""

from __future__ import annotations

import asyncio
import json
import math
import statistics
import time
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from bench import cpu, wrk
from bench.aclient import Conn, Pool, ws_connect
from bench.stack import Stack, StepError, log, rss_kib

FORWARD = ("processing", "shipped", "delivered")


@dataclass
class Ctx:
    stack: Stack
    smoke: bool
    duration: float
    staff_token: str
    customers: list[dict[str, Any]]
    product_ids: list[int]
    failures: list[str] = field(default_factory=list)
    # False for the reference: its 5xx, inexact stock or lost events are reported (in
    # `problems`), they do not fail the run; only our stack's do
    strict: bool = True
    problems: list[str] = field(default_factory=list)

    @property
    def port(self) -> int:
        return self.stack.web_ports[0]

    def fail(self, msg: str) -> None:
        if self.strict:
            log(f"FAIL: {msg}")
            self.failures.append(msg)
        else:
            log(f"{self.stack.label} problem (reported, not failing): {msg}")
            self.problems.append(msg)

    async def ws(self, port: int, token: str, **kw: Any) -> Any:
        return await ws_connect(port, token, token_in=self.stack.ws_token_in, **kw)


async def login(port: int, username: str, password: str) -> str:
    """An access token from the real sign-in endpoint, `POST /api/token/` on both stacks."""
    c = Conn("127.0.0.1", port)
    try:
        status, body = await c.request(
            "POST", "/api/token/", body={"username": username, "password": password}
        )
    finally:
        await c.close()
    if status != 200:
        raise StepError(f"POST /api/token/ -> {status}: {body[:300]!r}")
    return str(json.loads(body)["access"])


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, max(0, math.ceil(q / 100 * len(s)) - 1))]


def fetch(url: str, token: str | None = None) -> tuple[int, str, bytes]:
    req = urllib.request.Request(url)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(req, timeout=10) as resp:
        return resp.status, resp.headers.get("Content-Type", ""), resp.read()


def _check_wrk(ctx: Ctx, name: str, r: wrk.WrkResult, *, all_2xx: bool = True) -> None:
    if r.status.get("5xx", 0):
        ctx.fail(f"{name}: {r.status['5xx']} responses with status 5xx")
    if all_2xx and r.non_2xx_3xx:
        ctx.fail(f"{name}: {r.non_2xx_3xx} non-2xx/3xx responses")
    if r.requests == 0:
        ctx.fail(f"{name}: no request completed")


# -- catalog ------------------------------------------------------------------------------
def load(ctx: Ctx, label: str, url: str, **wrk_args: Any) -> dict[str, Any]:
    """One wrk run (-t2 -c32 unless told), checked and logged, after an unmeasured warm-up run
    that lets the server settle from the previous phase (its queued requests, pool sizes)."""
    log(f"{label}: wrk -c{wrk_args.get('connections', 32)} -d{ctx.duration:g}s (after a warm-up)")
    wrk.run(url, duration=min(1.0, ctx.duration / 4), **wrk_args)
    r = wrk.run(url, duration=ctx.duration, **wrk_args)
    _check_wrk(ctx, label, r)
    log(f"  {r.rps:.0f} req/s, p50 {r.p50_ms:.2f} ms, p99 {r.p99_ms:.2f} ms")
    return r.as_dict()


def catalog(ctx: Ctx) -> dict[str, Any]:
    base = f"http://127.0.0.1:{ctx.port}"
    status, ctype, body = fetch(f"{base}/api/products/")
    if status != 200 or not body:
        raise StepError(f"GET /api/products/ -> {status}")
    page = json.loads(body)
    ctx.stack.start_bare(body, ctype)
    bare_base = f"http://127.0.0.1:{ctx.stack.bare_port}"
    _, bare_ctype, bare_body = fetch(f"{bare_base}/api/products/")
    if bare_body != body or bare_ctype != ctype:
        raise StepError("the bare app does not serve the same bytes")
    log(f"list page: {len(body)} bytes, {len(page.get('items', []))} items, {ctype}")
    out: dict[str, Any] = {"list_bytes": len(body)}
    customer = ctx.customers[0]["token"]
    detail = f"/api/products/{ctx.product_ids[0]}/"
    for _ in range(3):  # warm both layers (cachalot and the edge cache)
        fetch(f"{base}/api/products/")
        fetch(f"{base}/api/products/", customer)
        fetch(f"{base}{detail}")

    out["list_warm"] = load(ctx, "warm list, anonymous", f"{base}/api/products/")
    out["bare"] = load(ctx, "bare ASGI app, same bytes", f"{bare_base}/api/products/")
    if ctx.stack.asgi_app == "config.asgi:application":
        out["edges_cost"] = edges_cost(ctx, f"{base}/api/products/")
    out["list_cold"] = load(
        ctx,
        "cold list, anonymous (a unique query per request: every cache misses)",
        f"{base}/api/products/",
        script_args=["cold", ""],
    )
    out["list_auth"] = load(
        ctx,
        "warm list, authenticated (Django's path, cachalot warm)",
        f"{base}/api/products/",
        script_args=["get", "/api/products/", f"Bearer {customer}"],
    )
    out["detail_warm"] = load(ctx, f"product detail {detail}, anonymous, warm", f"{base}{detail}")
    ctx.stack.check_alive()
    return out


def edges_cost(ctx: Ctx, shipped_url: str) -> dict[str, Any]:
    """What the outermost HTTP layer (config.edges.Edges: request id, body limit, metrics, the
    request log line) costs the warm anonymous list: the shipped app against the same app
    without that layer (bench/no_edges.py), both under bin/web's options, wrk runs alternated
    A B B A A B. The cost is read as the serving process's CPU time per request (/proc), which
    other work on the shared machine disturbs far less than req/s. Issue 10's budget: 5%."""
    port, variant = ctx.stack.start_variant("no_edges", "bench.no_edges:app")
    bare_url = f"http://127.0.0.1:{port}/api/products/"
    status, _, body = fetch(bare_url)
    if status != 200 or body != fetch(shipped_url)[2]:
        raise StepError(f"no-edges app: GET /api/products/ -> {status}, or other bytes")
    for _ in range(3):
        fetch(bare_url)
    pids = {"with": ctx.stack.web[0].pid, "without": variant.pid}
    runs: dict[str, list[dict[str, Any]]] = {"with": [], "without": []}
    for which in ("with", "without", "without", "with", "with", "without"):
        url = shipped_url if which == "with" else bare_url
        log(f"warm list, {which} the edges layer: wrk -c32 -d{ctx.duration:g}s (after a warm-up)")
        wrk.run(url, duration=min(1.0, ctx.duration / 4))
        ticks = cpu.process_ticks(pids[which])
        r = wrk.run(url, duration=ctx.duration)
        used = cpu.process_ticks(pids[which]) - ticks
        _check_wrk(ctx, f"edges cost ({which})", r)
        run = {**r.as_dict(), "cpu_us_per_request": round(cpu.us_per_unit(used, r.requests), 1)}
        log(f"  {r.rps:.0f} req/s, {run['cpu_us_per_request']:.0f} us of CPU a request")
        runs[which].append(run)
    med = {k: statistics.median(r["rps"] for r in v) for k, v in runs.items()}
    cpu_us = {k: statistics.median(r["cpu_us_per_request"] for r in v) for k, v in runs.items()}
    out = {
        "with_rps": med["with"],
        "without_rps": med["without"],
        "with_cpu_us": cpu_us["with"],
        "without_cpu_us": cpu_us["without"],
        "cost": cpu_us["with"] / cpu_us["without"] - 1,
        "runs": runs,
    }
    log(
        f"edges layer: {cpu_us['with']:.0f} vs {cpu_us['without']:.0f} us of CPU a request "
        f"without it (median of 3 each): {100 * out['cost']:+.1f}% (budget 5%); "
        f"{med['with']:.0f} vs {med['without']:.0f} req/s"
    )
    ctx.stack.check_alive()
    return out


def warm_list(ctx: Ctx, port: int, label: str) -> dict[str, Any]:
    """The anonymous product list, warmed first: the reference's cached path."""
    url = f"http://127.0.0.1:{port}/api/products/"
    status, _, body = fetch(url)
    if status != 200 or "results" not in json.loads(body):
        raise StepError(f"{label}: GET /api/products/ -> {status}: {body[:300]!r}")
    for _ in range(3):
        fetch(url)
    out = load(ctx, label, url)
    out["list_bytes"] = len(body)
    ctx.stack.check_alive()
    return out


# -- orders under contention --------------------------------------------------------------
def _deadlocks(stack: Stack) -> int:
    return int(
        stack.sql("SELECT deadlocks FROM pg_stat_database WHERE datname = %s", (stack.db_name,))[0][
            0
        ]
    )


def _stocks(stack: Stack, ids: list[int]) -> dict[int, int]:
    t = stack.tables
    return dict(stack.sql(f"SELECT id, stock FROM {t['product']} WHERE id = ANY(%s)", (ids,)))


def contention(ctx: Ctx, name: str, buyers: int, products: list[int]) -> dict[str, Any]:
    stack = ctx.stack
    t = stack.tables
    tokens = [c["token"] for c in ctx.customers[:buyers]]
    if len(tokens) < buyers:
        raise StepError(f"{name}: needs {buyers} customers")
    tokens_file = stack.tmp / f"tokens-{name}.txt"
    tokens_file.write_text("\n".join(tokens) + "\n")
    max_before = stack.sql(f"SELECT coalesce(max(id), 0) FROM {t['order']}")[0][0]
    before = _stocks(stack, products)
    dl_before = _deadlocks(stack)
    log(
        f"{stack.label}: orders, {buyers} buyers on {len(products)} product(s): wrk -t2 -c{buyers} "
        f"-d{ctx.duration:g}s"
    )
    cpu_before = cpu.snapshot()
    r = wrk.run(
        f"http://127.0.0.1:{ctx.port}/api/orders/",
        connections=buyers,
        duration=ctx.duration,
        script_args=["orders", str(tokens_file), ",".join(map(str, products))],
    )
    cpu_after = cpu.snapshot()
    # requests in flight when wrk stopped still complete on the server: wait for quiet
    deadline = time.monotonic() + 30
    last = -1
    while time.monotonic() < deadline:
        n = stack.sql(f"SELECT count(*) FROM {t['order']} WHERE id > %s", (max_before,))[0][0]
        if n == last:
            break
        last = n
        time.sleep(1.0)
    after = _stocks(stack, products)
    orders, qty = stack.sql(
        f"SELECT count(DISTINCT o.id), coalesce(sum(i.quantity), 0) FROM {t['order']} o "
        f"JOIN {t['item']} i ON i.order_id = o.id WHERE o.id > %s",
        (max_before,),
    )[0]
    other_items = stack.sql(
        f"SELECT count(*) FROM {t['item']} i WHERE i.order_id > %s "
        "AND NOT (i.product_id = ANY(%s))",
        (max_before, products),
    )[0][0]
    taken = sum(before[p] - after[p] for p in products)
    n201 = r.status.get("201", 0)
    in_flight = orders - n201
    exact = taken == qty == orders and other_items == 0 and 0 <= in_flight <= buyers
    deadlocks = _deadlocks(stack) - dl_before
    res = dict(
        r.as_dict(),
        orders_per_s=round(n201 / max(ctx.duration, 1e-9), 1),
        created_201=n201,
        orders_in_db=orders,
        units_sold=int(qty),
        stock_taken=taken,
        answered_after_cutoff=in_flight,
        stock_exact=exact,
        deadlocks=deadlocks,
        status_5xx=r.status.get("5xx", 0),
        other_4xx=r.status.get("4xx", 0),
    )
    res["cpu_ms_per_order"] = cpu.ms_per_unit(cpu_before, cpu_after, r.status.get("201", 0))
    # wrk's own req/s counts every answered request; orders/s counts 201s over the run
    res["orders_per_s"] = round(r.rps * n201 / max(r.requests, 1), 1)
    log(
        f"  {res['orders_per_s']} orders/s, p50 {r.p50_ms:.1f} ms, p99 {r.p99_ms:.1f} ms, "
        f"201s {n201}, in DB {orders}, stock taken {taken}, 5xx {res['status_5xx']}, "
        f"4xx {res['other_4xx']}, deadlocks {deadlocks}, exact {exact}"
    )
    per_order = ", ".join(f"{g} {ms}" for g, ms in res["cpu_ms_per_order"].items())
    log(f"  CPU ms per order (all processes of each kind on the machine): {per_order}")
    if res["status_5xx"]:
        ctx.fail(f"{name}: {res['status_5xx']} 5xx responses to POST /api/orders/")
    if res["other_4xx"]:
        ctx.fail(f"{name}: {res['other_4xx']} 4xx responses (stock should not run out)")
    if not exact:
        ctx.fail(
            f"{name}: stock not exact: taken {taken}, units in orders {qty}, orders "
            f"{orders}, 201s {n201}, stray items {other_items}"
        )
    if deadlocks:
        ctx.fail(f"{name}: {deadlocks} deadlocks")
    if n201 == 0:
        ctx.fail(f"{name}: no order created")
    stack.check_alive()
    return res


async def race(ctx: Ctx, product: int, buyers: int = 100, stock: int = 40) -> dict[str, Any]:
    """`buyers` one-unit orders fired at once at a product holding `stock` units."""
    log(f"{ctx.stack.label}: race: {buyers} buyers for {stock} units (one connection each)")
    before = _stocks(ctx.stack, [product])[product]
    if before != stock:
        raise StepError(f"race product {product} holds {before}, expected {stock}")
    conns = [Conn("127.0.0.1", ctx.port) for _ in range(buyers)]
    await asyncio.gather(*(c._open() for c in conns))
    body = {"items": [{"product_id": product, "quantity": 1}]}
    results = await asyncio.gather(
        *(
            c.request(
                "POST",
                "/api/orders/",
                body=body,
                token=ctx.customers[i % len(ctx.customers)]["token"],
                timeout=60,
            )
            for i, c in enumerate(conns)
        ),
        return_exceptions=True,
    )
    await asyncio.gather(*(c.close() for c in conns))
    statuses = [r[0] if isinstance(r, tuple) else repr(r) for r in results]
    after = _stocks(ctx.stack, [product])[product]
    sold = ctx.stack.sql(
        f"SELECT coalesce(sum(quantity), 0) FROM {ctx.stack.tables['item']} WHERE product_id = %s",
        (product,),
    )[0][0]
    n201 = statuses.count(201)
    n409 = statuses.count(409)
    ok = n201 == stock and n409 == buyers - stock and after == 0 and sold == stock
    log(
        f"  201: {n201}, 409: {n409}, other: {len(statuses) - n201 - n409}, stock left {after},"
        f" units in orders {sold}, exact {ok}"
    )
    if not ok:
        ctx.fail(
            f"race: expected {stock} x 201 and {buyers - stock} x 409 with stock 0, got "
            f"{n201} x 201, {n409} x 409, stock {after}, sold {sold}, others "
            f"{[s for s in statuses if s not in (201, 409)][:5]}"
        )
    return {
        "buyers": buyers,
        "stock": stock,
        "created_201": n201,
        "conflict_409": n409,
        "status_5xx": sum(1 for st in statuses if isinstance(st, int) and st >= 500),
        "other": len(statuses) - n201 - n409,
        # no oversell and every unit taken is in an order (holds even if some buyers got a 5xx)
        "stock_exact": sold == n201 == stock - after and after >= 0,
        "stock_left": after,
        "units_sold": int(sold),
        "exact": ok,
    }


# -- notifications ------------------------------------------------------------------------
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


# -- scale-out ----------------------------------------------------------------------------
def scale_out_catalog(ctx: Ctx) -> dict[str, Any]:
    import concurrent.futures

    ports = ctx.stack.web_ports
    log(f"scale-out catalog: {len(ports)} wrk runs at once, -t1 -c{32 // len(ports)} each")
    with concurrent.futures.ThreadPoolExecutor(len(ports)) as ex:
        futs = [
            ex.submit(
                wrk.run,
                f"http://127.0.0.1:{p}/api/products/",
                threads=1,
                connections=32 // len(ports),
                duration=ctx.duration,
            )
            for p in ports
        ]
        results = [f.result() for f in futs]
    for r in results:
        _check_wrk(ctx, "scale-out list", r)
    total = sum(r.rps for r in results)
    log(f"  {total:.0f} req/s in all ({', '.join(f'{r.rps:.0f}' for r in results)})")
    return {"rps": round(total, 1), "per_process": [r.as_dict() for r in results]}
