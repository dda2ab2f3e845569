"""What every phase shares: the run's context (`Ctx`) and small HTTP and timing helpers."""

from __future__ import annotations

import json
import math
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from bench import wrk
from bench.aclient import Conn, ws_connect
from bench.stack import Stack, StepError, log


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


def check_wrk(ctx: Ctx, name: str, r: wrk.WrkResult, *, all_2xx: bool = True) -> None:
    if r.status.get("5xx", 0):
        ctx.fail(f"{name}: {r.status['5xx']} responses with status 5xx")
    if all_2xx and r.non_2xx_3xx:
        ctx.fail(f"{name}: {r.non_2xx_3xx} non-2xx/3xx responses")
    if r.requests == 0:
        ctx.fail(f"{name}: no request completed")
