"""Run wrk (Debian's package) and parse its --latency report."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from bench.stack import StepError

LUA = Path(__file__).resolve().parent / "lua" / "bench.lua"
UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}


@dataclass
class WrkResult:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    non_2xx_3xx: int
    socket_errors: dict[str, int]
    status: dict[str, int] = field(default_factory=dict)
    raw: str = ""

    def as_dict(self) -> dict[str, object]:
        return {
            "rps": round(self.rps, 1),
            "p50_ms": round(self.p50_ms, 3),
            "p99_ms": round(self.p99_ms, 3),
            "requests": self.requests,
            "non_2xx_3xx": self.non_2xx_3xx,
            "socket_errors": self.socket_errors,
            "status": self.status,
        }


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not m:
        raise StepError(f"wrk: cannot read latency {text!r}")
    return float(m.group(1)) * UNITS[m.group(2)]


def run(
    url: str,
    *,
    threads: int = 2,
    connections: int = 32,
    duration: float = 10,
    script_args: list[str] | None = None,
    timeout_s: int = 10,
) -> WrkResult:
    wrk = shutil.which("wrk") or "/usr/bin/wrk"
    argv = [
        wrk,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(duration))}s",
        f"--timeout={timeout_s}s",
        "--latency",
    ]
    if script_args is not None:
        argv += ["-s", str(LUA), url, "--", *script_args]
    else:
        argv.append(url)
    res = subprocess.run(argv, capture_output=True, text=True, timeout=duration + timeout_s + 60)
    out = res.stdout
    if res.returncode != 0:
        raise StepError(f"wrk failed ({res.returncode}): {res.stderr[-2000:]}\n{out[-2000:]}")
    try:
        rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
        p50 = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
        p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
        reqs = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    except AttributeError:
        raise StepError(f"wrk: unexpected output:\n{out}\n{res.stderr}") from None
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    non = int(m.group(1)) if m else 0
    errors: dict[str, int] = {}
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if m:
        errors = dict(
            zip(("connect", "read", "write", "timeout"), map(int, m.groups()), strict=True)
        )
    status: dict[str, int] = {}
    m = re.search(r"BENCH_STATUS (.*)", out)
    if m:
        status = {k: int(v) for k, v in (kv.split("=") for kv in m.group(1).split())}
    return WrkResult(rps, p50, p99, reqs, non, errors, status, out)
