"""Outbound HTTP for webhooks that refuses private addresses (SSRF) and pins the one it checked.

Hand-written on http.client rather than a client library because the check and the connection
must use the same resolved address: resolving once to check and again to connect would let a
DNS answer that changes in between (rebinding) reach an internal service. The connection goes
to the checked IP, while Host and TLS (SNI, certificate) still use the URL's host name.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

# Cloud metadata services that are not already link-local or private.
METADATA_ADDRESSES = frozenset(
    {ipaddress.ip_address("100.100.100.200"), ipaddress.ip_address("fd00:ec2::254")}
)
RESPONSE_KEEP_BYTES = 1024


class UrlRefused(Exception):
    """The URL may not be called: bad scheme, unresolvable, or a non-public address."""


class HostUnresolved(UrlRefused):
    """The host does not resolve (now): refused at registration, retried at delivery."""


@dataclass(frozen=True)
class Answer:
    status: int | None  # None: no HTTP answer (timeout, refused connection, TLS failure)
    body: str
    error: str
    retry_after: float | None
    seconds: float


def _is_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast and ip not in METADATA_ADDRESSES


def resolve(url: str, *, allow_private: bool) -> tuple[str, int, str]:
    """(host, port, ip to connect to) for an http(s) URL; raises UrlRefused."""
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        raise UrlRefused("The URL is not valid.") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UrlRefused("Only http:// and https:// URLs with a host are allowed.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise UrlRefused("The URL's port is not valid.") from None
    host = parts.hostname
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise HostUnresolved(f"The host {host!r} does not resolve.") from None
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    if not allow_private:
        refused = [str(ip) for ip in addresses if not _is_public(ip)]
        if refused:
            raise UrlRefused(
                f"The host {host!r} resolves to a loopback, private, link-local or metadata "
                f"address ({', '.join(sorted(set(refused)))})."
            )
    return host, port, str(addresses[0])


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, ip: str, timeout: float):
        super().__init__(host, port, timeout=timeout)
        self._ip = ip

    def connect(self) -> None:
        self.sock = socket.create_connection((self._ip, self.port), self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, ip: str, timeout: float):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._ip = ip

    def connect(self) -> None:
        sock = socket.create_connection((self._ip, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def post(
    url: str, body: bytes, headers: dict[str, str], *, timeout: float, allow_private: bool
) -> Answer:
    """POST without following redirects; raises UrlRefused before connecting anywhere."""
    host, port, ip = resolve(url, allow_private=allow_private)
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    cls = _PinnedHTTPSConnection if parts.scheme == "https" else _PinnedHTTPConnection
    conn = cls(host, port, ip, timeout)
    started = time.monotonic()
    try:
        conn.request("POST", path, body=body, headers=headers)
        response = conn.getresponse()
        kept = response.read(RESPONSE_KEEP_BYTES)
        return Answer(
            status=response.status,
            body=kept.decode(errors="replace"),
            error="",
            retry_after=_retry_after(response.getheader("Retry-After")),
            seconds=time.monotonic() - started,
        )
    except (OSError, http.client.HTTPException) as exc:
        what = "timed out" if isinstance(exc, TimeoutError) else f"{type(exc).__name__}: {exc}"
        return Answer(None, "", what, None, time.monotonic() - started)
    finally:
        conn.close()
