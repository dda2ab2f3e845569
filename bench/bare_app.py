"""A bare ASGI app that answers every HTTP request with the very bytes the real API returned.

The bench fetches the real `GET /api/products/` once, writes the body to a file and passes its
path and content type in BENCH_BARE_BODY / BENCH_BARE_CONTENT_TYPE; this app then serves that
body with the same content type from memory, the ceiling for any Python ASGI app under uvicorn.

    BENCH_BARE_BODY=/tmp/x.json .venv/bin/uvicorn bench.bare_app:app --port 8001
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

BODY = Path(os.environ["BENCH_BARE_BODY"]).read_bytes()
CONTENT_TYPE = os.environ.get("BENCH_BARE_CONTENT_TYPE", "application/json").encode()
START = {
    "type": "http.response.start",
    "status": 200,
    "headers": [(b"content-type", CONTENT_TYPE), (b"content-length", str(len(BODY)).encode())],
}
BODY_MESSAGE = {"type": "http.response.body", "body": BODY}


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    await send(START)
    await send(BODY_MESSAGE)
