"""The table (terminal and markdown), results.json and the chart."""

from __future__ import annotations

import json
import math
import os
import platform
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent / "out"

# The reference design's published figures ("What we measured (the reference)"): DRF ViewSet
# + per-URL Redis cache, SimpleJWT, Channels, wrk -t2 -c32, one process. Shown in parentheses
# beside the figures this run measures on bench/reference; ratios use the measured ones.
PUBLISHED: dict[str, float] = {
    "list_warm_rps": 700,  # gunicorn, one sync worker: its fastest plain-HTTP deployment
    "list_warm_rps_uvicorn": 190,  # under uvicorn, as the reference runs it (for its WebSockets)
    "ws_p50_ms": 24,
    "ws_p99_ms": 44,
    "orders_5hot_per_s": 63.5,  # "about 60-67 orders/s" with 16 buyers on 5 hot products
    "orders_1hot_per_s": 45,  # 32 buyers on one product
    "race_sold": 40,  # 100 buyers racing for 40 units
}
# Issue 5's targets for ours, relative to the reference.
TARGETS = {
    "list_warm_rps": 3.0,  # x the reference under gunicorn; also >= 7% of bare, p99 < 50 ms
    "orders_5hot_per_s": 1.5,
    "orders_1hot_per_s": 2.0,
}


def _n(v: Any, digits: int = 0) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "—"
    if isinstance(v, (int, float)):
        return f"{v:,.{digits}f}"
    return str(v)


def _num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not math.isnan(v)


def _ratio(ours: Any, ref: Any) -> str:
    if not (_num(ours) and _num(ref)) or ref == 0:
        return "—"
    return f"{ours / ref:.2f}x"


def measured(res: dict[str, Any]) -> dict[str, Any]:
    """The reference's figures measured in this run (None where it did not run)."""
    ref = res.get("reference") or {}

    def get(key: str, field: str) -> Any:
        return (ref.get(key) or {}).get(field)

    return {
        "list_warm_rps": get("list_warm_gunicorn", "rps"),
        "list_warm_rps_uvicorn": get("list_warm_uvicorn", "rps"),
        "orders_5hot_per_s": get("orders_5hot", "orders_per_s"),
        "orders_1hot_per_s": get("orders_1hot", "orders_per_s"),
        "race_sold": get("race", "units_sold"),
        "ws_p50_ms": get("ws_latency", "p50_ms"),
        "ws_p99_ms": get("ws_latency", "p99_ms"),
    }


def rows(res: dict[str, Any]) -> list[list[str]]:
    out: list[list[str]] = []
    M = measured(res)
    ref = res.get("reference") or {}
    cat = res.get("catalog", {})
    bare = cat.get("bare")

    def ref_cell(key: str, digits: int = 0, target: str = "") -> str:
        m = M[key]
        txt = (
            f"{_n(m, digits)} (published: {PUBLISHED[key]:,g})"
            if _num(m)
            else (f"not measured (published: {PUBLISHED[key]:,g})")
        )
        return f"{txt}; target {target}" if target else txt

    def vs(ours: Any, key: str) -> str:
        """ours / the measured reference; ours / the published figure, labelled, if not run."""
        if _num(M[key]):
            return _ratio(ours, M[key])
        r = _ratio(ours, PUBLISHED[key])
        return r if r == "—" else f"{r} vs published"

    def wrk_cell(r: dict[str, Any] | None) -> str:
        return f"{r['p50_ms']:.2f} / {r['p99_ms']:.2f}" if r else "—"

    def http(label: str, key: str) -> None:
        r = cat.get(key)
        if not r:
            return
        b = bare if key == "list_warm" else None
        share = f" (ours = {100 * r['rps'] / b['rps']:.1f}%)" if b else ""
        ref_txt, ref_lat, ratio = "—", "—", "—"
        if key == "list_warm":
            g, u = ref.get("list_warm_gunicorn"), ref.get("list_warm_uvicorn")
            if g or u:
                target = f"≥ {TARGETS['list_warm_rps']:g}x gunicorn" + (
                    f" = {_n(TARGETS['list_warm_rps'] * g['rps'])}" if g else ""
                )
                ref_txt = (
                    f"{_n(g['rps']) if g else '—'} gunicorn / {_n(u['rps']) if u else '—'} "
                    f"uvicorn (published: 700 / 190); target {target}, ≥ 7% of bare, p99 < 50 ms"
                )
                ref_lat = f"{wrk_cell(g)} gunicorn; {wrk_cell(u)} uvicorn"
                ratio = f"{_ratio(r['rps'], M['list_warm_rps'])} gunicorn / " + (
                    f"{_ratio(r['rps'], M['list_warm_rps_uvicorn'])} uvicorn"
                )
            else:
                ref_txt = (
                    "not measured (published: 700 gunicorn / 190 uvicorn); target ≥ 3x gunicorn, "
                    "≥ 7% of bare, p99 < 50 ms"
                )
                ratio = vs(r["rps"], "list_warm_rps")
        out.append(
            [
                f"{label}: req/s",
                _n(r["rps"]),
                (_n(b["rps"]) + share) if b else "—",
                ref_txt,
                ratio,
            ]
        )
        out.append([f"{label}: p50 / p99 ms", wrk_cell(r), wrk_cell(b), ref_lat, "—"])

    http("GET /api/products/ warm, anonymous", "list_warm")
    if cat.get("list_bytes") or ref.get("list_warm_uvicorn"):
        out.append(
            [
                "GET /api/products/ first page: bytes",
                _n(cat.get("list_bytes")),
                "—",
                _n((ref.get("list_warm_uvicorn") or {}).get("list_bytes")),
                "—",
            ]
        )
    edges = cat.get("edges_cost")
    if edges:
        out.append(
            [
                "warm list: CPU µs a request with / without the edges layer (metrics, log, id)",
                f"{edges['with_cpu_us']:.0f} / {edges['without_cpu_us']:.0f}",
                "—",
                "budget: ≤ 5% more",
                f"{100 * edges['cost']:+.1f}%",
            ]
        )
    http("GET /api/products/ cold (unique query, every cache misses)", "list_cold")
    http("GET /api/products/ warm, authenticated (Django path, cachalot warm)", "list_auth")
    http("GET /api/products/{id}/ warm, anonymous", "detail_warm")

    def orders_detail(o: dict[str, Any]) -> str:
        return (
            f"{o['p50_ms']:.1f} / {o['p99_ms']:.1f}, {o['status_5xx']}, "
            f"{o['deadlocks']}, {'yes' if o['stock_exact'] else 'NO'} "
            f"({o['units_sold']} sold = {o['stock_taken']} taken; "
            f"{o['created_201']} 201s + {o['answered_after_cutoff']} after wrk's cutoff)"
        )

    for key, label in (
        ("orders_5hot", "orders, 16 buyers on 5 hot products"),
        ("orders_1hot", "orders, 32 buyers on 1 product"),
    ):
        o, ro = res.get(key), ref.get(key)
        if not (o or ro):
            continue
        ref_key = f"{key}_per_s"
        ours = o["orders_per_s"] if o else None
        out.append(
            [
                f"{label}: orders/s",
                _n(ours, 1),
                "—",
                ref_cell(ref_key, 1, f"≥ {TARGETS[ref_key]:g}x"),
                vs(ours, ref_key),
            ]
        )
        out.append(
            [
                f"{label}: p50 / p99 ms, 5xx, deadlocks, stock exact",
                orders_detail(o) if o else "—",
                "—",
                (orders_detail(ro) if ro else "not measured") + "; target: no 5xx",
                "—",
            ]
        )
    rc, rrc = res.get("race"), ref.get("race")
    if rc or rrc:

        def race_cell(r: dict[str, Any]) -> str:
            others = r.get("other", 0)
            return (
                f"{r['units_sold']} / {r['conflict_409']}"
                + (f" ({others} other, {r.get('status_5xx', 0)} of them 5xx)" if others else "")
                + ("" if r.get("stock_exact", r["exact"]) else " STOCK NOT EXACT")
            )

        out.append(
            [
                "100 buyers racing for 40 units: sold / 409s",
                race_cell(rc) if rc else "—",
                "—",
                (race_cell(rrc) if rrc else "not measured") + "; target: 40 sold",
                vs(rc["units_sold"] if rc else None, "race_sold"),
            ]
        )
    w, rw = res.get("ws_latency"), ref.get("ws_latency")
    if w or rw:
        n = (w or rw or {}).get("changes")
        out.append(
            [
                f"status change -> socket p50 ms ({n} changes)",
                _n(w["p50_ms"], 1) if w else "—",
                "—",
                ref_cell("ws_p50_ms", 1),
                vs(w["p50_ms"] if w else None, "ws_p50_ms"),
            ]
        )
        out.append(
            [
                "status change -> socket p99 ms",
                _n(w["p99_ms"], 1) if w else "—",
                "—",
                ref_cell("ws_p99_ms", 1, "≤ reference, < 40 ms"),
                vs(w["p99_ms"] if w else None, "ws_p99_ms"),
            ]
        )
    b = res.get("burst")
    if b:
        out.append(
            [
                f"burst of {b['changes']} changes: lost, delivered events/s",
                f"{b['lost']} lost, {_n(b['events_per_s'])}/s",
                "—",
                "target: 0 lost",
                "—",
            ]
        )
    d = res.get("drain")
    if d:
        out.append(
            [
                f"{d['changes']} events queued, then delivered by 1 worker: events/s, lost",
                f"{_n(d['events_per_s'])}/s, {d['lost']} lost",
                "—",
                "target: 0 lost",
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
                "target: 2,000",
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
    wh = res.get("webhooks")
    if wh:
        out.append(
            [
                f"{wh['changes']} changes to 3 webhooks (1 failing half the time): deliveries/s",
                f"{_n(wh['deliveries_per_s'], 1)}/s, {wh['lost']} lost, {wh.get('dead', 0)} dead",
                "—",
                "target: 0 lost, 0 dead",
                "—",
            ]
        )
        seq = wh.get("sequential")
        if seq:
            w, wo = seq["with"], seq["without"]
            for what, p50, p99 in (
                ("PATCH answered", "patch_p50_ms", "patch_p99_ms"),
                ("event on the socket", "p50_ms", "p99_ms"),
            ):
                out.append(
                    [
                        f"one change at a time, {what}: p50 / p99 ms, 3 webhooks + e-mail on",
                        f"{_n(w[p50], 1)} / {_n(w[p99], 1)}",
                        "—",
                        f"no endpoint nor e-mail, same run: {_n(wo[p50], 1)} / {_n(wo[p99], 1)}; "
                        "target within 10%",
                        f"{_ratio(w[p50], wo[p50])} / {_ratio(w[p99], wo[p99])}",
                    ]
                )
        out.append(
            [
                "PATCH p50 / p99 ms with 3 webhooks and e-mail on (8 concurrent senders)",
                f"{_n(wh['patch_p50_ms'])} / {_n(wh['patch_p99_ms'])}",
                "—",
                f"without endpoints, same run: {_n(wh.get('patch_no_webhooks_p50_ms'))} / "
                f"{_n(wh.get('patch_no_webhooks_p99_ms'))}; target within 10%",
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
                "target: grows",
                "—",
            ]
        )
        ev1 = (res.get("burst") or {}).get("events_per_s")
        out.append(
            [
                "scale-out: live changes, each to a socket on both processes: events/s, lost",
                f"{_n(so['burst']['events_per_s'])}/s ({_ratio(so['burst']['events_per_s'], ev1)}"
                f" of 1 worker), {so['burst']['lost']} lost",
                "—",
                "target: grows, 0 lost",
                "—",
            ]
        )
        if so.get("drain"):
            dr1 = (res.get("drain") or {}).get("events_per_s")
            out.append(
                [
                    "scale-out: queued events delivered by 2 workers (socket on the 2nd "
                    "process): events/s, lost",
                    f"{_n(so['drain']['events_per_s'])}/s "
                    f"({_ratio(so['drain']['events_per_s'], dr1)} of 1 worker), "
                    f"{so['drain']['lost']} lost",
                    "—",
                    "target: grows, 0 lost",
                    "—",
                ]
            )
    return out


def notes(res: dict[str, Any]) -> list[str]:
    """What the table cannot say: the reference's own problems (reported, never failed)."""
    ref = res.get("reference")
    if ref is None:
        return ["reference: not measured in this run (its published figures in parentheses)"]
    out = [f"reference problem (reported, not a failure): {p}" for p in ref.get("problems", [])]
    out += [f"reference server log: {e}" for e in ref.get("server_errors", [])]
    return out


HEAD = [
    "figure",
    "ours",
    "bare ASGI (same bytes)",
    "reference: measured here (published)",
    "ours/reference",
]


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


def setup_line(meta: dict[str, Any], reference: bool) -> str:
    return (
        f"Run {meta['started']} on {meta['machine']}; wrk -t2 -c32 -d{meta['duration']:g}s "
        f"(orders: -c16 / -c32), one uvicorn process, Celery worker {meta['worker_pool']}"
        + (
            "; reference (bench/reference, DRF): the same load on gunicorn -w 1 (list) and one "
            "uvicorn (list, orders, sockets)"
            if reference
            else ""
        )
        + f"{' (SMOKE: tiny durations, figures meaningless)' if meta['smoke'] else ''}."
    )


def markdown(table: list[list[str]], res: dict[str, Any]) -> str:
    lines = [
        setup_line(res["meta"], "reference" in res),
        "",
        "| " + " | ".join(HEAD) + " |",
        "|" + "---|" * len(HEAD),
    ]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in table]
    extra = notes(res)
    if extra:
        lines += ["", *(f"- {n}" for n in extra)]
    return "\n".join(lines) + "\n"


OURS, REF, BARE = "#1f77b4", "#d62728", "#9e9e9e"


def chart(res: dict[str, Any], path: Path) -> None:
    """Side by side: ours vs the reference measured in this run (vs bare ASGI for the list).
    Where the reference was not run, its bars are its published figures, hatched and labelled."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(16, 5.2))
    cat = res.get("catalog", {})
    M = measured(res)

    def ref(key: str) -> tuple[float, str]:
        m = M[key]
        return (float(m), "") if _num(m) else (PUBLISHED[key], "//")

    ref_label = "reference" if "reference" in res else "reference (published, not measured)"
    # 1. catalog throughput (log scale)
    names: list[str] = []
    vals: list[float] = []
    colors: list[str] = []
    hatches: list[str] = []

    def add(label: str, value: float, color: str, hatch: str = "") -> None:
        names.append(label)
        vals.append(value)
        colors.append(color)
        hatches.append(hatch)

    # the warm list side by side: ours, the reference on gunicorn and uvicorn, bare ASGI
    if "list_warm" in cat:
        add("ours warm", cat["list_warm"]["rps"], OURS)
    for label, key in (("ref gunicorn", "list_warm_rps"), ("ref uvicorn", "list_warm_rps_uvicorn")):
        v, h = ref(key)
        add(label + (" (published)" if h else ""), v, REF, h)
    for label, key in (
        ("bare ASGI", "bare"),
        ("ours detail", "detail_warm"),
        ("ours auth", "list_auth"),
        ("ours cold", "list_cold"),
    ):
        if key in cat:
            add(label, cat[key]["rps"], BARE if key == "bare" else OURS)
    ax = axes[0]
    bars = ax.bar(names, vals, color=colors)
    for bar, h in zip(bars, hatches, strict=True):
        bar.set_hatch(h)
    ax.set_yscale("log")
    ax.set_title("GET /api/products/ warm unless named (req/s, log)")
    for i, v in enumerate(vals):
        ax.text(i, v, f"{v:,.0f}", ha="center", va="bottom", fontsize=8)
    ax.tick_params(axis="x", rotation=35)

    def pairs(ax: Any, labels: list[str], ours: list[float], keys: list[str]) -> None:
        xs = list(range(len(labels)))
        refs = [ref(k) for k in keys]
        ax.bar([x - 0.2 for x in xs], ours, 0.4, label="ours", color=OURS)
        rb = ax.bar([x + 0.2 for x in xs], [v for v, _ in refs], 0.4, label=ref_label, color=REF)
        for bar, (_, h) in zip(rb, refs, strict=True):
            bar.set_hatch(h)
        for x, v in zip(xs, ours, strict=True):
            ax.text(x - 0.2, v, f"{v:,.1f}", ha="center", va="bottom", fontsize=8)
        for x, (v, _) in zip(xs, refs, strict=True):
            ax.text(x + 0.2, v, f"{v:,.1f}", ha="center", va="bottom", fontsize=8)
        ax.set_xticks(xs, labels)
        ax.legend()

    # 2. orders/s
    o5, o1 = res.get("orders_5hot") or {}, res.get("orders_1hot") or {}
    pairs(
        axes[1],
        ["16 buyers / 5 products", "32 buyers / 1 product"],
        [o5.get("orders_per_s", 0), o1.get("orders_per_s", 0)],
        ["orders_5hot_per_s", "orders_1hot_per_s"],
    )
    axes[1].set_title("orders/s under contention")
    # 3. ws latency
    w = res.get("ws_latency") or {}
    pairs(
        axes[2],
        ["p50", "p99"],
        [w.get("p50_ms", 0), w.get("p99_ms", 0)],
        ["ws_p50_ms", "ws_p99_ms"],
    )
    axes[2].set_title("status change -> WebSocket (ms)")
    fig.suptitle(
        f"Shop API vs the reference DRF design "
        f"({'measured in the same run' if 'reference' in res else 'published figures'}) — "
        f"{res['meta']['machine']}",
        fontsize=9,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write(res: dict[str, Any]) -> str:
    """Writes results.json, results.md and the chart; returns the terminal table and notes."""
    # a smoke run must not overwrite the last full run's figures
    out = OUT / "smoke" if res["meta"]["smoke"] else OUT
    out.mkdir(parents=True, exist_ok=True)
    table = rows(res)
    (out / "results.json").write_text(json.dumps(res, indent=2, default=str))
    (out / "results.md").write_text(markdown(table, res))
    try:
        chart(res, out / "chart.png")
    except Exception as exc:  # noqa: BLE001 - a chart problem must not hide the table
        res.setdefault("failures", []).append(f"chart: {exc!r}")
    return "\n".join(
        [setup_line(res["meta"], "reference" in res), "", text_table(table), *notes(res)]
    )
