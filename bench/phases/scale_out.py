"""The scale-out phase's catalog part: the warm list on every web process at once (its burst and
queued delivery are the burst phase's functions on more processes)."""

from __future__ import annotations

from typing import Any

from bench import wrk
from bench.phases.context import Ctx, check_wrk
from bench.stack import log


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
        check_wrk(ctx, "scale-out list", r)
    total = sum(r.rps for r in results)
    log(f"  {total:.0f} req/s in all ({', '.join(f'{r.rps:.0f}' for r in results)})")
    return {"rps": round(total, 1), "per_process": [r.as_dict() for r in results]}
