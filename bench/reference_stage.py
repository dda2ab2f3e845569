"""The reference design (bench/reference) measured in the same run, on the
same machine and under the same load as ours, by the same phase functions.

Setup errors (its database, migrations, a server that does not start) are step errors and fail
the run; its 5xx, inexact stock or lost events are reported in `problems`, never a failure.
"""

from __future__ import annotations

import asyncio
import collections
import re
import secrets
from pathlib import Path
from typing import Any

from bench.phases.catalog import warm_list
from bench.phases.context import Ctx, login
from bench.phases.orders import contention
from bench.phases.race import race
from bench.phases.ws_latency import ws_latency
from bench.stack import ReferenceStack, log

CUSTOMERS = 50  # 32 buyers at most at once; the race cycles through them
EXCEPTION_LINE = re.compile(r"^[\w.]+(Error|Exception): ")
PARTS = ("catalog", "orders", "race", "ws")  # ours' phase names that the reference also runs


def run(
    *,
    smoke: bool,
    duration: float,
    ws_changes: int,
    parts: set[str] | None = None,
    keep_logs: bool = False,
) -> dict[str, Any]:
    """Measures the reference; `parts` (default all of PARTS) are the same phase names as
    ours, so `--only catalog,reference` compares the list alone."""
    want = set(PARTS) if not parts else parts
    ref = ReferenceStack(keep_logs=keep_logs)
    out: dict[str, Any] = {}
    try:
        log("reference (the DRF reference design): its own database and Redis index")
        ref.open()
        ref.load_catalog()
        password = secrets.token_urlsafe(16)
        data = ref.make_users(CUSTOMERS, password)
        ctx = Ctx(
            stack=ref,
            smoke=smoke,
            duration=duration,
            staff_token="",
            customers=data["customers"],
            product_ids=data["active_ids"],
            strict=False,
        )
        ids = ctx.product_ids

        if "catalog" in want:
            log("reference: gunicorn bench.reference.wsgi -w 1 (one sync worker)")
            port = ref.start_wsgi()
            out["list_warm_gunicorn"] = warm_list(
                ctx, port, "reference warm list, anonymous, gunicorn -w 1"
            )
            ref.stop_wsgi()

        log("reference: uvicorn bench.reference.asgi:application (one process)")
        ref.start_web(1)
        ctx.staff_token = asyncio.run(login(ctx.port, "bench_staff", password))
        if "catalog" in want:
            out["list_warm_uvicorn"] = warm_list(
                ctx, ctx.port, "reference warm list, anonymous, uvicorn"
            )
        if "orders" in want:
            out["orders_5hot"] = contention(ctx, "reference orders_5hot", 16, ids[0:5])
            out["orders_1hot"] = contention(ctx, "reference orders_1hot", 32, ids[5:6])
        if "race" in want:
            out["race"] = asyncio.run(race(ctx, ids[6]))
        if "ws" in want:
            out["ws_latency"] = asyncio.run(ws_latency(ctx, ws_changes))
        ref.check_alive()
        out["problems"] = ctx.problems
        out["server_errors"] = server_errors(ref.tmp)
    except BaseException:
        ref.failed = True
        raise
    finally:
        ref.close()
    return out


def server_errors(logdir: Path, top: int = 5) -> list[str]:
    """The commonest exception lines in the servers' logs (the logs go with `close()`)."""
    counts: collections.Counter[str] = collections.Counter()
    for path in logdir.glob("*.log"):
        for line in path.read_text(errors="replace").splitlines():
            if EXCEPTION_LINE.match(line):
                counts[f"{path.stem}: {line.strip()[:240]}"] += 1
    return [f"{n} x {line}" for line, n in counts.most_common(top)]
