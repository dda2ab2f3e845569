"""A small keep-alive HTTP/1.1 client on asyncio streams (no dependency), and socket helpers."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from websockets.asyncio.client import ClientConnection, connect


class HTTPError(RuntimeError):
    pass


class Conn:
    """One keep-alive connection; requests on it are sequential."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.last_used = 0.0

    async def _open(self) -> None:
        self.reader, self.writer = await asyncio.wait_for(
            asyncio.open_connection(self.host, self.port), 10
        )

    async def request(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        body: Any = None,
        timeout: float = 30,
    ) -> tuple[int, bytes]:
        return await asyncio.wait_for(self._request(method, path, token, body), timeout)

    async def _request(
        self, method: str, path: str, token: str | None, body: Any
    ) -> tuple[int, bytes]:
        loop = asyncio.get_running_loop()
        # uvicorn closes keep-alive connections idle for 5 s: never send on one that old
        if self.writer is not None and loop.time() - self.last_used > 4.0:
            await self.close()
        if self.writer is None or self.writer.is_closing():
            await self._open()
        self.last_used = loop.time()
        assert self.reader is not None and self.writer is not None
        data = b"" if body is None else json.dumps(body).encode()
        head = [
            f"{method} {path} HTTP/1.1",
            f"Host: {self.host}:{self.port}",
            f"Content-Length: {len(data)}",
        ]
        if body is not None:
            head.append("Content-Type: application/json")
        if token:
            head.append(f"Authorization: Bearer {token}")
        self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + data)
        await self.writer.drain()
        status_line = await self.reader.readline()
        if not status_line:
            self.writer.close()
            self.writer = None
            raise HTTPError(f"{method} {path}: connection closed")
        status = int(status_line.split()[1])
        headers: dict[str, str] = {}
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            k, _, v = line.decode("latin-1").partition(":")
            headers[k.strip().lower()] = v.strip()
        if "content-length" in headers:
            payload = await self.reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int((await self.reader.readline()).strip().split(b";")[0], 16)
                if size == 0:
                    await self.reader.readline()
                    break
                parts.append(await self.reader.readexactly(size))
                await self.reader.readline()
            payload = b"".join(parts)
        else:
            payload = await self.reader.read()
            self.writer.close()
            self.writer = None
        self.last_used = loop.time()
        if headers.get("connection", "").lower() == "close" and self.writer is not None:
            self.writer.close()
            self.writer = None
        return status, payload

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            try:
                await self.writer.wait_closed()
            except OSError:
                pass
            self.writer = None


class Pool:
    """N connections; `run(jobs)` runs coroutine factories with at most N at once."""

    def __init__(self, host: str, port: int, size: int):
        self.conns: asyncio.Queue[Conn] = asyncio.Queue()
        self._all = [Conn(host, port) for _ in range(size)]
        for c in self._all:
            self.conns.put_nowait(c)

    async def request(self, method: str, path: str, **kw: Any) -> tuple[int, bytes]:
        conn = await self.conns.get()
        try:
            return await conn.request(method, path, **kw)
        except BaseException:
            await conn.close()
            raise
        finally:
            self.conns.put_nowait(conn)

    async def close(self) -> None:
        await asyncio.gather(*(c.close() for c in self._all), return_exceptions=True)


async def ws_connect(
    port: int, token: str, *, token_in: str = "subprotocol", open_timeout: float = 30
) -> ClientConnection:
    """An authenticated `ws/orders/` socket. Ours takes the token in the subprotocols, as a
    browser sends it (token_in="subprotocol"); the reference design in `?token=` ("query")."""
    if token_in == "query":
        url, protocols = f"ws://127.0.0.1:{port}/ws/orders/?token={token}", None
    elif token_in == "subprotocol":
        url, protocols = f"ws://127.0.0.1:{port}/ws/orders/", ["jwt", token]
    else:
        raise ValueError(f"token_in: {token_in!r}")
    return await connect(
        url,
        subprotocols=protocols,  # type: ignore[arg-type]
        open_timeout=open_timeout,
        ping_interval=None,
        max_queue=None,
    )
