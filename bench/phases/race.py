"""The race phase: more buyers than units, all at once; exactly the units in stock are sold."""

from __future__ import annotations

import asyncio
from typing import Any

from bench.aclient import Conn
from bench.phases.context import Ctx
from bench.phases.orders import stocks
from bench.stack import StepError, log


async def race(ctx: Ctx, product: int, buyers: int = 100, stock: int = 40) -> dict[str, Any]:
    """`buyers` one-unit orders fired at once at a product holding `stock` units."""
    log(f"{ctx.stack.label}: race: {buyers} buyers for {stock} units (one connection each)")
    before = stocks(ctx.stack, [product])[product]
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
    after = stocks(ctx.stack, [product])[product]
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
