"""py-spy on the uvicorn process while wrk loads it: where the hot path spends its time.

Writes bench/out/profile-<name>.txt (collapsed stacks) and profile-<name>.md (top functions by
own and by inclusive samples). py-spy: BENCH_PYSPY=/path/to/py-spy or on PATH (pip install
py-spy; it needs ptrace rights on the uvicorn process).
"""

from __future__ import annotations

import collections
import os
import re
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Any

from bench import wrk
from bench.report import OUT
from bench.stack import StepError, log

FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^()]*?)(?::\d+)?\)$")


def _pyspy() -> str:
    exe = os.environ.get("BENCH_PYSPY") or shutil.which("py-spy")
    if not exe:
        raise StepError("py-spy not found: pip install py-spy, then set BENCH_PYSPY")
    return exe


def _short(path: str) -> str:
    for marker in ("site-packages/", "/lib/python3.11/", "/work/main/"):
        if marker in path:
            return path.split(marker, 1)[1]
    return path


def summarize(raw: Path, top: int = 15) -> dict[str, Any]:
    own: collections.Counter[str] = collections.Counter()
    incl: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = []
        for f in stack.split(";"):
            m = FRAME.match(f.strip())
            if m and m.group("file"):
                frames.append(f"{m.group('func')} ({_short(m.group('file'))})")
        if not frames:
            continue
        total += n
        own[frames[-1]] += n
        for f in set(frames):
            incl[f] += n
    return {
        "samples": total,
        "own": [(f, round(100 * c / max(total, 1), 1)) for f, c in own.most_common(top)],
        "inclusive": [(f, round(100 * c / max(total, 1), 1)) for f, c in incl.most_common(top * 3)],
    }


def record(ctx: Any, name: str, load: Any) -> dict[str, Any]:
    OUT.mkdir(parents=True, exist_ok=True)
    raw = OUT / f"profile-{name}.txt"
    pid = ctx.stack.web[0].pid
    dur = max(2, int(ctx.duration))
    log(f"profile {name}: py-spy record on uvicorn pid {pid} for {dur} s under load")
    spy = subprocess.Popen(
        [
            _pyspy(),
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(dur),
            "--rate",
            "200",
            "--format",
            "raw",
            "--nonblocking",
            "-o",
            str(raw),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    t = threading.Thread(target=load, args=(dur,))
    t.start()
    t.join()
    _, err = spy.communicate(timeout=60)
    if spy.returncode != 0 or not raw.exists():
        raise StepError(f"py-spy failed: {err.decode()[-1000:]}")
    s = summarize(raw)
    lines = [
        f"# {name}: {s['samples']} samples (py-spy, 200 Hz, non-idle threads)",
        "",
        "## own time",
        *(f"- {p}% {f}" for f, p in s["own"]),
        "",
        "## inclusive",
        *(f"- {p}% {f}" for f, p in s["inclusive"]),
    ]
    (OUT / f"profile-{name}.md").write_text("\n".join(lines) + "\n")
    log(f"  wrote {OUT}/profile-{name}.md")
    return s


def run(ctx: Any, ids: list[int]) -> dict[str, Any]:
    port = ctx.port
    token = ctx.customers[0]["token"]
    tokens_file = ctx.stack.tmp / "tokens-profile.txt"
    tokens_file.write_text("\n".join(c["token"] for c in ctx.customers[:16]) + "\n")
    out = {}
    out["list_auth"] = record(
        ctx,
        "list_auth",
        lambda d: wrk.run(
            f"http://127.0.0.1:{port}/api/products/",
            duration=d,
            script_args=["get", "/api/products/", f"Bearer {token}"],
        ),
    )
    out["checkout"] = record(
        ctx,
        "checkout",
        lambda d: wrk.run(
            f"http://127.0.0.1:{port}/api/orders/",
            connections=16,
            duration=d,
            script_args=["orders", str(tokens_file), ",".join(map(str, ids[0:5]))],
        ),
    )
    return out
