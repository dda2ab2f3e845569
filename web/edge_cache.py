"""An ASGI layer in front of Django that answers repeated anonymous catalog reads from memory.

A warm `GET /api/products/` through Django's full request path costs milliseconds (thread
hops, middleware, ninja, the cachalot hit's SQL compilation and Redis round trips). Here a
rendered response is kept per process and served while it is still correct, checked with one
Redis MGET of cachalot's own invalidation stamps for the catalog tables:

- cachalot writes a table's stamp (the time of its last write) on every ORM write to it, from
  any process, into the shared cache, so a changed product or category changes the stamps;
- a response is stored with the stamps read *before* Django rendered it, so a write that races
  the rendering makes the stored copy stale at once, never a stale copy look fresh;
- if a stamp is missing (expired, Redis restarted) or Redis is unreachable, nothing is served
  from here: Django answers, as it would without this layer;
- nor while this process has a catalog invalidation that did not reach Redis yet (Redis
  stalled during a write; config.cache retries it): the stamps in Redis are still the old ones.

Only anonymous GETs of the public catalog are served here (a token may be staff's, who see
inactive products), and only for a Host that Django would accept (else Django answers 400).
CORS headers are worked out per request from its Origin, never replayed from the stored copy.
Responses carry an ETag (If-None-Match -> 304) and `Cache-Control: public, no-cache`, so a CDN
or reverse proxy may store them but must revalidate each use.
"""

from __future__ import annotations

import hashlib
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from dataclasses import dataclass
from typing import Any

from config.cachalot_stamps import StampReader, Stamps
from web.edges import SCOPE_ROUTE, cors_headers, host_allowed

logger = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[..., Awaitable[None]]

MAX_ENTRIES = 1024
MAX_BODY_BYTES = 512 * 1024
CACHE_CONTROL = b"public, no-cache"
VARY = b"Authorization, Origin"


@dataclass(frozen=True)
class Entry:
    stamps: Stamps
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    etag: bytes
    route: str | None


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


def _etag_matches(if_none_match: bytes | None, etag: bytes) -> bool:
    if not if_none_match:
        return False
    candidates = {t.strip().removeprefix(b"W/") for t in if_none_match.split(b",")}
    return etag in candidates or b"*" in candidates


class CatalogEdgeCache:
    """`app` behind a per-process store of anonymous GET answers under `paths` (the catalog
    routers' prefixes), each kept while the stamps of `tables` (the catalog models' tables)
    are those it was rendered under."""

    def __init__(self, app: ASGIApp, *, paths: Iterable[str], tables: Iterable[str]):
        self.app = app
        self.paths = tuple(paths)
        self.tables = tuple(tables)
        self.entries: OrderedDict[bytes, Entry] = OrderedDict()
        self._stamps: StampReader | None = None

    def _eligible(self, scope: Scope) -> bool:
        return (
            scope["type"] == "http"
            and scope["method"] == "GET"
            and scope["path"].startswith(self.paths)
            and _header(scope, b"authorization") is None
            and host_allowed(scope)
        )

    async def _read_stamps(self) -> Stamps | None:
        if self._stamps is None:
            self._stamps = StampReader(self.tables)
        try:
            return await self._stamps.read()
        except Exception as exc:  # noqa: BLE001 - any cache failure means "ask Django"
            logger.warning("catalog edge cache: stamps unavailable (%s)", exc)
            return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self._eligible(scope):
            await self.app(scope, receive, send)
            return
        key = scope["path"].encode() + b"?" + scope.get("query_string", b"")
        stamps = await self._read_stamps()
        entry = self.entries.get(key)
        if entry is not None and stamps is not None and entry.stamps == stamps:
            self.entries.move_to_end(key)
            scope[SCOPE_ROUTE] = entry.route
            await self._respond(scope, send, entry)
            return
        await self._render(scope, receive, send, key, stamps)

    async def _render(
        self, scope: Scope, receive: Receive, send: Send, key: bytes, stamps: Stamps | None
    ) -> None:
        start: Message = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            else:  # anything unexpected passes straight through
                await send(message)

        await self.app(scope, receive, capture)
        body = b"".join(chunks)
        status = int(start.get("status", 500))
        headers = [
            (bytes(k), bytes(v))
            for k, v in start.get("headers", [])
            if k.lower() not in (b"etag", b"cache-control", b"vary", b"content-length")
            and not k.lower().startswith(b"access-control-")
        ]
        etag = b'"' + hashlib.blake2b(body, digest_size=16).hexdigest().encode() + b'"'
        entry = Entry(stamps or (), status, headers, body, etag, scope.get(SCOPE_ROUTE))
        if status == 200 and stamps is not None and len(body) <= MAX_BODY_BYTES:
            self.entries[key] = entry
            self.entries.move_to_end(key)
            while len(self.entries) > MAX_ENTRIES:
                self.entries.popitem(last=False)
        await self._respond(scope, send, entry)

    async def _respond(self, scope: Scope, send: Send, entry: Entry) -> None:
        cors = cors_headers(_header(scope, b"origin"))
        if entry.status != 200:
            headers = [*entry.headers, *cors, (b"content-length", str(len(entry.body)).encode())]
            await send({"type": "http.response.start", "status": entry.status, "headers": headers})
            await send({"type": "http.response.body", "body": entry.body})
            return
        caching = [
            (b"etag", entry.etag),
            (b"cache-control", CACHE_CONTROL),
            (b"vary", VARY),
            *cors,
        ]
        if _etag_matches(_header(scope, b"if-none-match"), entry.etag):
            await send({"type": "http.response.start", "status": 304, "headers": caching})
            await send({"type": "http.response.body", "body": b""})
            return
        headers = [*entry.headers, *caching, (b"content-length", str(len(entry.body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": entry.body})
