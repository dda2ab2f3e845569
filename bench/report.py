"""The table (terminal and markdown), results.json and the chart."""

from __future__ import annotations

import json
import math
import os
import platform
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent / "out"

# The brief's design as measured in issue 5 ("What we measured (the reference)"): DRF ViewSet
# + per-URL Redis cache, SimpleJWT, Channels, on this machine class, wrk -t2 -c32, one process.
REFERENCE: dict[str, float] = {
    "list_warm_rps": 700,  # gunicorn, one sync worker: its fastest plain-HTTP deployment
    "list_warm_rps_uvicorn": 190,  # under uvicorn, as the brief runs it (for its WebSockets)
    "bare_rps": 27_500,  # a bare ASGI app with the same bytes: "about 25,000-30,000"
    "ws_p50_ms": 24,
    "ws_p99_ms": 44,
    "orders_5hot_per_s": 63.5,  # "about 60-67 orders/s" with 16 buyers on 5 hot products
    "orders_1hot_per_s": 45,  # 32 buyers on one product
    "race_sold": 40,  # 100 buyers racing for 40 units
}
# Issue 5's targets, shown beside the reference.
TARGETS = {
    "list_warm_rps": "≥ 3x = 2,100; ≥ 7% of bare; p99 < 50 ms",
    "ws_p99_ms": "≤ reference, < 40 ms",
    "orders_5hot_per_s": "≥ 1.5x",
    "orders_1hot_per_s": "≥ 2x",
}


def _n(v: Any, digits: int = 0) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "—"
    if isinstance(v, (int, float)):
        return f"{v:,.{digits}f}"
    return str(v)


def _ratio(ours: Any, ref: float | None) -> str:
    if ours is None or ref is None or not isinstance(ours, (int, float)) or math.isnan(ours):
        return "—"
    return f"{ours / ref:.2f}x"


def rows(res: dict[str, Any]) -> list[list[str]]:
    out: list[list[str]] = []
    R = REFERENCE
    cat = res.get("catalog", {})
    bare = cat.get("bare")

    def http(label: str, key: str, ref_key: str | None = None) -> None:
        r = cat.get(key)
        if not r:
            return
        b = bare if key == "list_warm" else None
        share = f" (ours = {100 * r['rps'] / b['rps']:.1f}%)" if b else ""
        ref = R.get(ref_key) if ref_key else None
        ref_txt = "—"
        if ref_key == "list_warm_rps":
            ref_txt = f"700 gunicorn / 190 uvicorn; target {TARGETS['list_warm_rps']}"
        out.append(
            [
                f"{label}: req/s",
                _n(r["rps"]),
                (_n(b["rps"]) + share) if b else "—",
                ref_txt,
                _ratio(r["rps"], ref),
            ]
        )
        out.append(
            [
                f"{label}: p50 / p99 ms",
                f"{r['p50_ms']:.2f} / {r['p99_ms']:.2f}",
                f"{b['p50_ms']:.2f} / {b['p99_ms']:.2f}" if b else "—",
                "—",
                "—",
            ]
        )

    http("GET /api/products/ warm, anonymous", "list_warm", "list_warm_rps")
    http("GET /api/products/ cold (unique query, every cache misses)", "list_cold")
    http("GET /api/products/ warm, authenticated (Django path, cachalot warm)", "list_auth")
    http("GET /api/products/{id}/ warm, anonymous", "detail_warm")

    for key, label, ref_key in (
        ("orders_5hot", "orders, 16 buyers on 5 hot products", "orders_5hot_per_s"),
        ("orders_1hot", "orders, 32 buyers on 1 product", "orders_1hot_per_s"),
    ):
        o = res.get(key)
        if not o:
            continue
        out.append(
            [
                f"{label}: orders/s",
                _n(o["orders_per_s"], 1),
                "—",
                f"{_n(R[ref_key], 1)}; target {TARGETS[ref_key]}",
                _ratio(o["orders_per_s"], R[ref_key]),
            ]
        )
        out.append(
            [
                f"{label}: p50 / p99 ms, 5xx, deadlocks, stock exact",
                f"{o['p50_ms']:.1f} / {o['p99_ms']:.1f}, {o['status_5xx']}, "
                f"{o['deadlocks']}, {'yes' if o['stock_exact'] else 'NO'} "
                f"({o['units_sold']} sold = {o['stock_taken']} taken; "
                f"{o['created_201']} 201s + {o['answered_after_cutoff']} after wrk's cutoff)",
                "—",
                "no 5xx",
                "—",
            ]
        )
    rc = res.get("race")
    if rc:
        out.append(
            [
                "100 buyers racing for 40 units: sold / 409s",
                f"{rc['units_sold']} / {rc['conflict_409']}{'' if rc['exact'] else ' NOT EXACT'}",
                "—",
                "40 sold",
                _ratio(rc["units_sold"], R["race_sold"]),
            ]
        )
    w = res.get("ws_latency")
    if w:
        out.append(
            [
                f"status change -> socket p50 ms ({w['changes']} changes)",
                _n(w["p50_ms"], 1),
                "—",
                _n(R["ws_p50_ms"]),
                _ratio(w["p50_ms"], R["ws_p50_ms"]),
            ]
        )
        out.append(
            [
                "status change -> socket p99 ms",
                _n(w["p99_ms"], 1),
                "—",
                f"44; target {TARGETS['ws_p99_ms']}",
                _ratio(w["p99_ms"], R["ws_p99_ms"]),
            ]
        )
    b = res.get("burst")
    if b:
        out.append(
            [
                f"burst of {b['changes']} changes: lost, delivered events/s",
                f"{b['lost']} lost, {_n(b['events_per_s'])}/s",
                "—",
                "0 lost",
                "—",
            ]
        )
    s = res.get("sockets")
    if s:
        out.append(
            [
                "sockets held on one uvicorn / received own event",
                f"{s['open']}/{s['asked']} / {s['received_own_event']}",
                "—",
                "2,000",
                "—",
            ]
        )
        out.append(
            [
                "uvicorn RSS before -> after; per idle socket",
                f"{s['rss_before_mib']} -> {s['rss_after_mib']} MiB; "
                f"{s['bytes_per_idle_socket'] / 1024:.1f} KiB",
                "—",
                "—",
                "—",
            ]
        )
    so = res.get("scale_out")
    if so:
        one = cat.get("list_warm", {}).get("rps")
        out.append(
            [
                "scale-out 2 uvicorn + 2 workers: list req/s (vs 1 process)",
                f"{_n(so['catalog']['rps'])} ({_ratio(so['catalog']['rps'], one)})",
                "—",
                "grows",
                "—",
            ]
        )
        ev1 = (res.get("burst") or {}).get("events_per_s")
        out.append(
            [
                "scale-out: delivered events/s, lost (sockets on both processes)",
                f"{_n(so['burst']['events_per_s'])}/s ({_ratio(so['burst']['events_per_s'], ev1)}"
                f" of 1 worker), {so['burst']['lost']} lost",
                "—",
                "grows, 0 lost",
                "—",
            ]
        )
    return out


HEAD = ["figure", "ours", "bare ASGI (same bytes)", "reference (issue 5)", "ours/reference"]


def text_table(table: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [HEAD, *table]) for i in range(len(HEAD))]
    line = "  ".join("-" * w for w in widths)
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join([fmt.format(*HEAD), line, *(fmt.format(*r) for r in table)])


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}"
    )


def markdown(table: list[list[str]], meta: dict[str, Any]) -> str:
    lines = [
        f"Run {meta['started']} on {meta['machine']}; wrk -t2 -c32 -d{meta['duration']:g}s "
        f"(orders: -c16 / -c32), one uvicorn process, Celery worker {meta['worker_pool']}"
        f"{' (SMOKE: tiny durations, figures meaningless)' if meta['smoke'] else ''}.",
        "",
        "| " + " | ".join(HEAD) + " |",
        "|" + "---|" * len(HEAD),
    ]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in table]
    return "\n".join(lines) + "\n"


def chart(res: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(16, 5.2))
    cat = res.get("catalog", {})
    R = REFERENCE
    # 1. catalog throughput (log scale)
    names, vals, colors = [], [], []
    for label, key in (
        ("ours warm", "list_warm"),
        ("ours auth", "list_auth"),
        ("ours cold", "list_cold"),
        ("ours detail", "detail_warm"),
        ("bare ASGI", "bare"),
    ):
        if key in cat:
            names.append(label)
            vals.append(cat[key]["rps"])
            colors.append("#9e9e9e" if key == "bare" else "#1f77b4")
    names += ["ref uvicorn", "ref gunicorn"]
    vals += [R["list_warm_rps_uvicorn"], R["list_warm_rps"]]
    colors += ["#d62728", "#d62728"]
    ax = axes[0]
    ax.bar(names, vals, color=colors)
    ax.set_yscale("log")
    ax.set_title("GET /api/products/ (req/s, log scale)")
    for i, v in enumerate(vals):
        ax.text(i, v, f"{v:,.0f}", ha="center", va="bottom", fontsize=8)
    ax.tick_params(axis="x", rotation=35)
    # 2. orders/s
    ax = axes[1]
    o5, o1 = res.get("orders_5hot"), res.get("orders_1hot")
    xs = [0, 1]
    ours = [o5["orders_per_s"] if o5 else 0, o1["orders_per_s"] if o1 else 0]
    refs = [R["orders_5hot_per_s"], R["orders_1hot_per_s"]]
    ax.bar([x - 0.2 for x in xs], ours, 0.4, label="ours", color="#1f77b4")
    ax.bar([x + 0.2 for x in xs], refs, 0.4, label="reference", color="#d62728")
    ax.set_xticks(xs, ["16 buyers / 5 products", "32 buyers / 1 product"])
    ax.set_title("orders/s under contention")
    ax.legend()
    # 3. ws latency
    ax = axes[2]
    w = res.get("ws_latency") or {}
    ax.bar(
        [-0.2, 0.8], [w.get("p50_ms", 0), w.get("p99_ms", 0)], 0.4, label="ours", color="#1f77b4"
    )
    ax.bar([0.2, 1.2], [R["ws_p50_ms"], R["ws_p99_ms"]], 0.4, label="reference", color="#d62728")
    ax.set_xticks([0, 1], ["p50", "p99"])
    ax.set_title("status change -> WebSocket (ms)")
    ax.legend()
    fig.suptitle(
        f"Shop API benchmark vs issue 5's reference — {res['meta']['machine']}", fontsize=9
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write(res: dict[str, Any]) -> str:
    # a smoke run must not overwrite the last full run's figures
    out = OUT / "smoke" if res["meta"]["smoke"] else OUT
    out.mkdir(parents=True, exist_ok=True)
    table = rows(res)
    (out / "results.json").write_text(json.dumps(res, indent=2, default=str))
    (out / "results.md").write_text(markdown(table, res["meta"]))
    try:
        chart(res, out / "chart.png")
    except Exception as exc:  # noqa: BLE001 - a chart problem must not hide the table
        res.setdefault("failures", []).append(f"chart: {exc!r}")
    return text_table(table)
