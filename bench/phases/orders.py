"""The orders phase: checkouts from many buyers at once on a few hot products, with stock, orders
and deadlocks checked in the database afterwards and the CPU each order cost."""

from __future__ import annotations

import time
from typing import Any

from bench import cpu, wrk
from bench.phases.context import Ctx
from bench.stack import Stack, StepError, log


def _deadlocks(stack: Stack) -> int:
    return int(
        stack.sql("SELECT deadlocks FROM pg_stat_database WHERE datname = %s", (stack.db_name,))[0][
            0
        ]
    )


def stocks(stack: Stack, ids: list[int]) -> dict[int, int]:
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
    before = stocks(stack, products)
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
    after = stocks(stack, products)
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
