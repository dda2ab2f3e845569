"""Benchmark suite entry point: `.venv/bin/python -m bench [--smoke]` (or `bench/run.py`);
bench/README.md says what each phase measures and how to read the table.

Starts a throwaway full stack (fresh PostgreSQL database, Redis index 8, one uvicorn, one
Celery worker, a bare ASGI app serving identical bytes), measures, then measures the DRF
reference design (bench/reference: its own database, Redis index 7, gunicorn then uvicorn) under
the same load, prints ONE table side by side and writes bench/out/{results.json,results.md,
chart.png}. Exit status 1 if a step errored, or our stack answered a 5xx, left stock inexact or
lost an event (timings are never asserted; the reference's own 5xx are reported, not failed).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import resource
import secrets
import signal
import sys
import time
import traceback
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: bench/run.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import profile, reference_stage, report, webhooks
from bench.phases.burst import burst
from bench.phases.catalog import catalog
from bench.phases.context import Ctx, login
from bench.phases.orders import contention
from bench.phases.race import race
from bench.phases.scale_out import scale_out_catalog
from bench.phases.sockets import sockets_held
from bench.phases.ws_latency import ws_latency
from bench.stack import Stack, StepError, log, worker_argv


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--smoke",
        action="store_true",
        help="tiny durations and counts (CI): same code paths, no timing asserted",
    )
    p.add_argument("--duration", type=float, help="seconds per wrk run (default 10, smoke 1)")
    p.add_argument("--ws-changes", type=int, help="sequential changes timed (default 300)")
    p.add_argument("--burst", type=int, help="changes in the burst (default 1000)")
    p.add_argument("--sockets", type=int, help="sockets held (default 2000)")
    p.add_argument(
        "--worker-pool",
        choices=("procfile", "solo", "prefork", "threads"),
        default="procfile",
        help="the socket worker: as the Procfile runs it (default), or another pool to compare "
        "(solo, prefork -c 2, threads -c 4)",
    )
    p.add_argument("--no-scale-out", action="store_true", help="skip 2 uvicorn + 2 workers")
    p.add_argument(
        "--no-reference",
        action="store_true",
        help="skip measuring the DRF reference design (bench/reference) side by side",
    )
    p.add_argument(
        "--only",
        help="comma-separated phases: catalog,orders,race,ws,burst,sockets,webhooks,reference,"
        "scale "
        "(default all)",
    )
    p.add_argument(
        "--profile",
        action="store_true",
        help="also py-spy the uvicorn process under the authenticated list and "
        "checkout loads (needs py-spy: BENCH_PYSPY or on PATH)",
    )
    p.add_argument("--keep-logs", action="store_true")
    a = p.parse_args(argv)
    a.duration = a.duration or (1 if a.smoke else 10)
    a.ws_changes = a.ws_changes or (10 if a.smoke else 300)
    a.burst = a.burst or (30 if a.smoke else 1000)
    a.sockets = a.sockets or (20 if a.smoke else 2000)
    return a


def raise_nofile(want: int) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = want if hard == resource.RLIM_INFINITY else min(want, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def _terminate(signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    a = parse(argv)
    only = set(a.only.split(",")) if a.only else None

    def want(name: str) -> bool:
        return only is None or name in only

    # sockets are files: our client and uvicorn (which inherits it) need room for them
    nofile = raise_nofile(max(4096, 2 * a.sockets + 1024))
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGHUP, _terminate)
    started = time.monotonic()
    res: dict[str, Any] = {
        "meta": {
            "started": dt.datetime.now().isoformat(timespec="seconds"),
            "machine": report.machine(),
            "smoke": a.smoke,
            "duration": a.duration,
            "worker_pool": " ".join(worker_argv("worker", a.worker_pool)[1:]),
            "nofile": nofile,
        }
    }
    stack = Stack(worker_pool=a.worker_pool, keep_logs=a.keep_logs)
    ctx: Ctx | None = None
    failures: list[str] = []
    try:
        stack.open()
        stack.load_catalog()
        n_customers = max(50, a.sockets // 10 + 2)
        password = secrets.token_urlsafe(16)
        data = stack.make_users(n_customers, password)
        if len(data["active_ids"]) < 60:
            raise StepError("the demo catalog has fewer than 60 active products")
        log("uvicorn + Celery worker + the notify worker (e-mail on in every phase)")
        stack.start_web(1)
        stack.start_workers(1)
        stack.start_notify_worker()
        # the staff token comes from the real sign-in endpoint
        staff_token = asyncio.run(login(stack.web_ports[0], "bench_staff", password))
        ctx = Ctx(
            stack=stack,
            smoke=a.smoke,
            duration=a.duration,
            staff_token=staff_token,
            customers=data["customers"],
            product_ids=data["active_ids"],
        )
        failures = ctx.failures
        ids = ctx.product_ids
        if want("catalog"):
            res["catalog"] = catalog(ctx)
        if want("orders"):
            res["orders_5hot"] = contention(ctx, "orders_5hot", 16, ids[0:5])
            res["orders_1hot"] = contention(ctx, "orders_1hot", 32, ids[5:6])
        if want("race"):
            res["race"] = asyncio.run(race(ctx, ids[6]))
        if want("ws"):
            res["ws_latency"] = asyncio.run(ws_latency(ctx, a.ws_changes))
        if want("burst"):
            res["burst"] = asyncio.run(burst(ctx, a.burst))
            res["drain"] = asyncio.run(burst(ctx, a.burst, label="queued delivery", queued_for=1))
        if want("sockets"):
            res["sockets"] = asyncio.run(sockets_held(ctx, a.sockets))
        if want("webhooks"):
            res["webhooks"] = asyncio.run(webhooks.webhooks(ctx, a.burst))
        if a.profile:
            res["profile"] = profile.run(ctx, ids)
        if want("reference") and not a.no_reference:
            try:
                res["reference"] = reference_stage.run(
                    smoke=a.smoke,
                    duration=a.duration,
                    ws_changes=a.ws_changes,
                    # with --only, the reference measures what ours measured (all if none)
                    parts=(only & set(reference_stage.PARTS)) if only else None,
                    keep_logs=a.keep_logs,
                )
            except Exception as exc:  # noqa: BLE001 - ours is still up: go on to the scale-out
                traceback.print_exc()
                failures.append(f"reference: step error: {exc}")
        if want("scale") and not a.no_scale_out:
            log("scale-out: a second uvicorn and a second worker")
            stack.start_web(1)
            stack.start_workers(1)
            so: dict[str, Any] = {"catalog": scale_out_catalog(ctx)}
            so["burst"] = asyncio.run(
                burst(ctx, a.burst, ports=stack.web_ports, label="scale-out burst")
            )
            so["drain"] = asyncio.run(
                burst(  # one socket, as in the 1-worker run, on the second web process
                    ctx,
                    a.burst,
                    ports=stack.web_ports[-1:],
                    label="scale-out queued delivery",
                    queued_for=2,
                )
            )
            res["scale_out"] = so
        stack.check_alive()
    except (StepError, Exception) as exc:  # noqa: BLE001
        stack.failed = True
        traceback.print_exc()
        failures.append(f"step error: {exc}")
    except KeyboardInterrupt as exc:
        stack.failed = True
        failures.append(f"interrupted ({exc})")
    finally:
        stack.close()
    res["failures"] = failures
    res["meta"]["seconds"] = round(time.monotonic() - started, 1)
    table = report.write(res)
    print()
    print(table)
    print()
    print(
        f"wrote {report.OUT}{'/smoke' if a.smoke else ''}/results.json, results.md, chart.png "
        f"({res['meta']['seconds']} s{', smoke' if a.smoke else ''})"
    )
    if res["failures"]:
        print("\nFAILED:", file=sys.stderr)
        for f in res["failures"]:
            print(f"  - {f}", file=sys.stderr)
        return 1
    print("OK: no step error, no 5xx, stock exact, no event lost")
    return 0


if __name__ == "__main__":
    os.chdir(Path(__file__).resolve().parent.parent)
    sys.exit(main())
