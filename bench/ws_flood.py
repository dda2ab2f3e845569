"""Catalog latency while signed-in clients flood a web process with oversized WebSocket frames.

    python -m bench.ws_flood --url http://127.0.0.1:8000 --token <access> [--seconds 8] [--check]

Measures the p50/p99 of anonymous `GET /api/products/` on one keep-alive connection, first idle,
then while FLOODERS processes each open a socket, send a 15 MB text frame, and do it again as
soon as the server closes it, for the whole measurement. Flooders are processes, not threads,
so the measuring client does not share a GIL with them. The issue's bound: p50 while flooded
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


def _flood(ws_url: str, token: str, stop_at: float, counts: Any) -> None:
    frame = "x" * FRAME_BYTES
    protocols = [Subprotocol("jwt"), Subprotocol(token)]
    while time.time() < stop_at:
        try:
            with connect(ws_url, subprotocols=protocols, open_timeout=5, max_size=2**20) as ws:
                try:
                    ws.send(frame)
                    ws.recv(timeout=5)
                except (ConnectionClosed, TimeoutError, OSError):
                    pass
                counts.value += 1
        except (ConnectionClosed, InvalidStatus, TimeoutError, OSError):
            time.sleep(0.01)


def _latencies(url: str, seconds: float) -> list[float]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=30)
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
    conn.close()
    return out


def _summary(ms: list[float]) -> dict[str, float]:
    ordered = sorted(ms)
    return {
        "n": len(ordered),
        "p50_ms": round(statistics.median(ordered), 2),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 2),
        "max_ms": round(ordered[-1], 2),
    }


def measure(url: str, token: str, seconds: float = 8.0) -> dict[str, Any]:
    """{"idle": {...}, "flooded": {...}, "frames_sent": n} against a running web process."""
    ws_url = url.replace("http://", "ws://", 1).rstrip("/") + "/ws/orders/"
    _latencies(url, 1.0)  # warm the edge cache and the connection
    idle = _summary(_latencies(url, seconds))
    ctx = multiprocessing.get_context("spawn")
    counts = ctx.Value("i", 0)
    stop_at = time.time() + seconds + 1.0
    flooders = [
        ctx.Process(target=_flood, args=(ws_url, token, stop_at, counts), daemon=True)
        for _ in range(FLOODERS)
    ]
    for p in flooders:
        p.start()
    time.sleep(0.5)  # let the flood start
    flooded = _summary(_latencies(url, seconds))
    for p in flooders:
        p.join(timeout=30)
        if p.is_alive():
            p.kill()
    return {"idle": idle, "flooded": flooded, "frames_sent": counts.value}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--url", required=True, help="the web process, e.g. http://127.0.0.1:8000")
    parser.add_argument("--token", required=True, help="an access token (the flooders sign in)")
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument(
        "--check", action="store_true", help="exit 1 unless the flooded p50 is under 2x idle"
    )
    args = parser.parse_args()
    result = measure(args.url, args.token, args.seconds)
    print(json.dumps(result, indent=2))
    if args.check and result["flooded"]["p50_ms"] >= 2 * result["idle"]["p50_ms"]:
        raise SystemExit("flooded p50 is not under twice the idle p50")


if __name__ == "__main__":
    main()
