"""The catalog phase: the warm, cold and authenticated product list and a product's detail, beside
a bare ASGI app serving the same bytes, and what the edges layer costs on the warm list."""

from __future__ import annotations

import json
import statistics
from typing import Any

from bench import cpu, wrk
from bench.phases.context import Ctx, check_wrk, fetch
from bench.stack import StepError, log


def load(ctx: Ctx, label: str, url: str, **wrk_args: Any) -> dict[str, Any]:
    """One wrk run (-t2 -c32 unless told), checked and logged, after an unmeasured warm-up run
    that lets the server settle from the previous phase (its queued requests, pool sizes)."""
    log(f"{label}: wrk -c{wrk_args.get('connections', 32)} -d{ctx.duration:g}s (after a warm-up)")
    wrk.run(url, duration=min(1.0, ctx.duration / 4), **wrk_args)
    r = wrk.run(url, duration=ctx.duration, **wrk_args)
    check_wrk(ctx, label, r)
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
    """What the outermost HTTP layer (web.edges.Edges: request id, body limit, metrics, the
    request log line) costs the warm anonymous list: the shipped app against the same app
    without that layer (bench/no_edges.py), both under bin/web's options, wrk runs alternated
    A B B A A B. The cost is read as the serving process's CPU time per request (/proc), which
    other work on the shared machine disturbs far less than req/s. The budget: 5%."""
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
        check_wrk(ctx, f"edges cost ({which})", r)
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
