"""Catalog latency while signed-in clients flood a web process with oversized WebSocket frames.

    python -m bench.ws_flood --url http://127.0.0.1:8000 --token <access>
        [--seconds 8] [--rounds 4] [--frame-bytes 15000000] [--check]

Measures the p50/p99 of anonymous `GET /api/products/` on one keep-alive connection, idle and
while FLOODERS processes each open a socket, send one oversized text frame, and do it again as
soon as the server closes it. Flooders are processes, not threads, so the measuring client does
not share a GIL with them. The idle and flooded windows alternate (`--rounds` of each, the
flooders paused in between), so a neighbour's load on a shared machine weighs on both alike;
each figure pools every sample of its windows.

Two shapes of flood: `--frame-bytes 15000000` (the default) costs the clients and the kernel
most (15 MB to mask and copy per frame); a frame just over the limit (`--frame-bytes 17000`)
makes each flood round trip cheap for the client, so the server pays a whole handshake (token,
user lookup, group joins) as fast as the client can ask. The issue's bound: p50 while flooded
under twice the idle p50 (uvicorn's defaults took it from 3 ms to 600 ms).
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import statistics
import time
from typing import Any
from urllib.parse import urlsplit

from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect
from websockets.typing import Subprotocol

FLOODERS = 2
FRAME_BYTES = 15_000_000
PAUSE_SECONDS = 10.0  # at most this long for the flooders' round trips in flight to end


def _flood(
    ws_url: str, token: str, frame_bytes: int, flooding: Any, stop: Any, counts: Any, busy: Any
) -> None:
    frame = "x" * frame_bytes
    protocols = [Subprotocol("jwt"), Subprotocol(token)]
    while not stop.is_set():
        if not flooding.wait(timeout=0.1):
            continue
        with busy.get_lock():
            busy.value += 1
        try:
            with connect(ws_url, subprotocols=protocols, open_timeout=5, max_size=2**20) as ws:
                try:
                    ws.send(frame)
                    ws.recv(timeout=5)
                except (ConnectionClosed, TimeoutError, OSError):
                    pass
                with counts.get_lock():
                    counts.value += 1
        except (ConnectionClosed, InvalidStatus, TimeoutError, OSError):
            time.sleep(0.01)
        finally:
            with busy.get_lock():
                busy.value -= 1


def _latencies(conn: http.client.HTTPConnection, seconds: float) -> list[float]:
    out: list[float] = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        started = time.perf_counter()
        conn.request("GET", "/api/products/")
        response = conn.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"GET /api/products/ answered {response.status}")
        out.append((time.perf_counter() - started) * 1000)
    return out


def _summary(ms: list[float]) -> dict[str, float]:
    ordered = sorted(ms)
    return {
        "n": len(ordered),
        "p50_ms": round(statistics.median(ordered), 2),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 2),
        "max_ms": round(ordered[-1], 2),
    }


def measure(
    url: str,
    token: str,
    seconds: float = 8.0,
    *,
    rounds: int = 1,
    frame_bytes: int = FRAME_BYTES,
    flooders: int = FLOODERS,
) -> dict[str, Any]:
    """{"idle": {...}, "flooded": {...}, "rounds": [...], "frames_sent": n} against a running
    web process: `seconds` of idle and `seconds` of flooded samples, in `rounds` alternating
    windows of each."""
    ws_url = url.replace("http://", "ws://", 1).rstrip("/") + "/ws/orders/"
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=30)
    ctx = multiprocessing.get_context("spawn")
    counts, busy = ctx.Value("i", 0), ctx.Value("i", 0)
    flooding, stop = ctx.Event(), ctx.Event()
    procs = [
        ctx.Process(
            target=_flood,
            args=(ws_url, token, frame_bytes, flooding, stop, counts, busy),
            daemon=True,
        )
        for _ in range(flooders)
    ]
    for p in procs:
        p.start()
    window = seconds / rounds
    idle: list[float] = []
    flooded: list[float] = []
    per_round: list[dict[str, float]] = []
    try:
        _latencies(conn, 1.0)  # warm the edge cache and the connection
        for _ in range(rounds):
            quiet = _latencies(conn, window)
            flooding.set()
            time.sleep(0.3)  # let the flood start
            loud = _latencies(conn, window)
            flooding.clear()
            deadline = time.monotonic() + PAUSE_SECONDS
            while busy.value and time.monotonic() < deadline:
                time.sleep(0.02)
            idle += quiet
            flooded += loud
            per_round.append(
                {
                    "idle_p50_ms": _summary(quiet)["p50_ms"],
                    "flooded_p50_ms": _summary(loud)["p50_ms"],
                }
            )
    finally:
        stop.set()
        flooding.set()  # wake the paused ones so they see the stop
        for p in procs:
            p.join(timeout=30)
            if p.is_alive():
                p.kill()
        conn.close()
    return {
        "idle": _summary(idle),
        "flooded": _summary(flooded),
        "rounds": per_round,
        "frames_sent": counts.value,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--url", required=True, help="the web process, e.g. http://127.0.0.1:8000")
    parser.add_argument("--token", required=True, help="an access token (the flooders sign in)")
    parser.add_argument("--seconds", type=float, default=8.0, help="of each, idle and flooded")
    parser.add_argument("--rounds", type=int, default=4, help="alternating windows of each")
    parser.add_argument("--frame-bytes", type=int, default=FRAME_BYTES)
    parser.add_argument(
        "--check", action="store_true", help="exit 1 unless the flooded p50 is under 2x idle"
    )
    args = parser.parse_args()
    result = measure(
        args.url, args.token, args.seconds, rounds=args.rounds, frame_bytes=args.frame_bytes
    )
    print(json.dumps(result, indent=2))
    if args.check and result["flooded"]["p50_ms"] >= 2 * result["idle"]["p50_ms"]:
        raise SystemExit("flooded p50 is not under twice the idle p50")


if __name__ == "__main__":
    main()
