"""The `ws/orders/` consumer: owners hear their orders, staff hear all, until their rights end.

Clients may send only `{"type": "ping"}` (answered `{"type": "pong"}`), as text of at most
WS_MAX_MESSAGE_BYTES, about one a second (`socket_limits`). Anything else closes the socket: 1003
for binary, 1007 for text that is not JSON or not a known message, 1008 for messages sent faster,
1009 for a message too big. A user who opens sockets faster than WS_OPENS_PER_MINUTE is refused
(HTTP 429 to the handshake) before any database query or channel-layer call.

A socket stays open only while its sign-in would still be accepted over HTTP. Every socket of a
user joins that user's sessions group; whatever ends the user's rights (signing out, a new
password, "sign out everywhere", deactivation, deletion, losing staff) sends one message there
(`notifications.signals`) and the socket closes itself: 4401 for a session that ended, 4403
for staff rights withdrawn. The same notice is also in the database, which the process reads
once a second for its sockets' users (`notifications.session_watch`), so a notice whose send was
lost (the channel layer down at that moment) still closes the socket, and a socket outlives an
outage of the channel layer without hearing any event before the notices written meanwhile (one
opened while the layer is unreachable is closed 1013, try again later). A timer closes it
(4401) when its access token expires. Delivering an order event costs no database query.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import InMemoryChannelLayer, get_channel_layer
from channels.utils import await_many_dispatch
from django.conf import settings

from accounts.selectors import access_token_decode, user_from_access_token
from common.errors import NotAuthenticated
from web.metrics import WEBSOCKETS_OPEN

from .groups import STAFF_GROUP, sessions_group, user_group
from .session_watch import LAYER_ERRORS, session_watch
from .socket_limits import (
    HOLD_SECONDS,
    MESSAGES_BURST,
    MESSAGES_PER_SECOND,
    TokenBucket,
    socket_opens,
)

CLOSE_UNSUPPORTED_DATA = 1003
CLOSE_INVALID_PAYLOAD = 1007
CLOSE_POLICY_VIOLATION = 1008
CLOSE_TOO_BIG = 1009
CLOSE_TRY_AGAIN_LATER = 1013
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
TOO_MANY_OPENS = json.dumps(
    {"detail": "Too many sockets opened: retry later.", "code": "too_many_sockets"}
).encode()


class OrderEventsConsumer(AsyncWebsocketConsumer):
    groups_joined: list[str]
    closing: bool
    sid: str | None
    token_key: str | None
    staff: bool
    _expiry: asyncio.TimerHandle | None
    _expiry_task: asyncio.Future[None] | None = None
    counted = False  # whether this socket is in the open-connections gauge
    accepted: bool
    messages: TokenBucket
    watched_user: int | None = None  # whose notices the process's session watch brings here

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """channels' own loop, but with a channel-layer receive that waits out an outage of the
        layer instead of ending the socket with a traceback."""
        self.scope = scope
        self.channel_layer = get_channel_layer(self.channel_layer_alias)
        self.channel_name = await self.channel_layer.new_channel()
        self.base_send = send
        try:
            await await_many_dispatch([receive, self._layer_receive], self.dispatch)
        except StopConsumer:
            pass

    async def _layer_receive(self) -> dict[str, Any]:
        while True:
            try:
                message: dict[str, Any] = await self.channel_layer.receive(self.channel_name)
            except LAYER_ERRORS as exc:
                await session_watch.layer_failed(exc)
            else:
                return message

    async def rejoin_groups(self) -> None:
        """Join again every group this socket is in (a restarted channel layer forgot them)."""
        for group in list(self.groups_joined):
            await self.channel_layer.group_add(group, self.channel_name)

    async def connect(self) -> None:
        self.groups_joined, self.closing, self._expiry = [], False, None
        self.sid = self.token_key = None
        self.staff = False
        self.accepted = False
        self.messages = TokenBucket(MESSAGES_BURST, MESSAGES_PER_SECOND)
        WEBSOCKETS_OPEN.inc()
        self.counted = True
        raw = self.scope.get("access_token")
        if not raw:
            return await self._end(CLOSE_UNAUTHENTICATED, "No token given.")
        try:
            claims = access_token_decode(raw)
        except NotAuthenticated as exc:
            return await self._end(CLOSE_UNAUTHENTICATED, str(exc.detail))
        user_id = int(claims["user_id"])
        if not await socket_opens.admit(user_id):
            return await self._refuse_open()
        # Join the revocation group before looking the user up: a revocation committed after
        # the lookup reaches this socket, one committed before it is seen by the lookup.
        if not isinstance(self.channel_layer, InMemoryChannelLayer):  # one process: no outage
            self.watched_user = user_id
            session_watch.watch(user_id, self)
        try:
            await self._join(sessions_group(user_id))
        except LAYER_ERRORS:
            return await self._end(CLOSE_TRY_AGAIN_LATER, "Notifications unavailable: retry.")
        try:
            user = await database_sync_to_async(user_from_access_token)(raw)
        except NotAuthenticated as exc:
            return await self._end(CLOSE_UNAUTHENTICATED, str(exc.detail))
        self.scope["user"] = user
        self.sid, self.token_key, self.staff = claims.get("sid"), claims.get("tk"), user.is_staff
        expires_in = max(0.0, float(claims["exp"]) - time.time())
        self._expiry = asyncio.get_running_loop().call_later(expires_in, self._expired)
        # Every event goes to its owner's group and to the staff group: a member of both (staff
        # with their own orders) would hear each of those events twice.
        try:
            await self._join(STAFF_GROUP if user.is_staff else user_group(user.pk))
        except LAYER_ERRORS:
            return await self._end(CLOSE_TRY_AGAIN_LATER, "Notifications unavailable: retry.")
        # Accepted only once subscribed: a client that sees the socket open hears every event
        # committed from then on (what came before, it catches up on through the API).
        await self._accept()

    async def _refuse_open(self) -> None:
        """Too many opens: answer the handshake 429, never accepting it, so a client does not
        go on to send its first frame (a flood's 15 MB) into a socket that is closing."""
        self.closing = True
        if "websocket.http.response" not in self.scope.get("extensions", {}):
            return await self.close()  # a server without the extension answers 403
        retry_after = str(int(HOLD_SECONDS)).encode()
        try:
            await self.base_send(
                {
                    "type": "websocket.http.response.start",
                    "status": 429,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"retry-after", retry_after),
                    ],
                }
            )
            await self.base_send({"type": "websocket.http.response.body", "body": TOO_MANY_OPENS})
        except OSError:  # the client left while its open was held: nothing to answer
            await self.disconnect(1006)
            raise StopConsumer() from None

    async def _accept(self) -> None:
        if not self.accepted:
            self.accepted = True
            await self.accept(subprotocol=self.scope.get("subprotocol"))

    async def _join(self, group: str) -> None:
        self.groups_joined.append(group)
        await self.channel_layer.group_add(group, self.channel_name)

    async def _leave_groups(self) -> None:
        if self.watched_user is not None:
            session_watch.unwatch(self.watched_user, self)
            self.watched_user = None
        groups, self.groups_joined = self.groups_joined, []
        for group in groups:
            try:
                await self.channel_layer.group_discard(group, self.channel_name)
            except LAYER_ERRORS:
                pass  # the layer is down: the membership expires (or was lost with it)
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None

    async def _end(self, code: int, reason: str) -> None:
        """Hear nothing more, then close with `code` (its reason: what the client may show)."""
        if self.closing:
            return
        self.closing = True
        await self._leave_groups()
        # Accept-then-close, so clients (browsers too) can read why: the code and reason.
        await self._accept()
        await self.close(code=code, reason=reason[:120])

    def _expired(self) -> None:
        self._expiry = None
        task = asyncio.ensure_future(self._end(CLOSE_UNAUTHENTICATED, "Access token expired."))
        self._expiry_task = task  # keep a reference until it is done

    async def disconnect(self, code: int) -> None:
        self.closing = True
        await self._leave_groups()
        if self.counted:
            WEBSOCKETS_OPEN.dec()
            self.counted = False

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.closing:
            return
        if not self.messages.take():
            return await self._end(
                CLOSE_POLICY_VIOLATION, "Too many messages: ping at most once a second."
            )
        if text_data is None:
            return await self._end(CLOSE_UNSUPPORTED_DATA, "Only text messages are accepted.")
        limit = settings.WS_MAX_MESSAGE_BYTES
        if len(text_data) > limit or len(text_data.encode()) > limit:
            return await self._end(CLOSE_TOO_BIG, "Message too big.")
        try:
            content = json.loads(text_data)
        except (ValueError, RecursionError):
            return await self._end(CLOSE_INVALID_PAYLOAD, "Messages must be JSON.")
        if content == {"type": "ping"}:
            return await self.send(text_data='{"type": "pong"}')
        await self._end(CLOSE_INVALID_PAYLOAD, 'Unknown message: only {"type": "ping"}.')

    async def order_event(self, message: dict[str, Any]) -> None:
        if not self.closing:
            await self.send(text_data=json.dumps(message["event"]))

    async def session_revoke(self, message: dict[str, Any]) -> None:
        """The user's sessions or rights changed (see `notifications.signals`)."""
        if self.closing:
            return
        if "sid" in message:
            if message["sid"] == self.sid:
                await self._end(CLOSE_UNAUTHENTICATED, "This session has been signed out.")
        elif not message.get("is_active", True):
            await self._end(CLOSE_UNAUTHENTICATED, "User not found or inactive.")
        elif message.get("token_key", self.token_key) != self.token_key:
            await self._end(CLOSE_UNAUTHENTICATED, "This session has been signed out.")
        elif self.staff and not message.get("is_staff", True):
            await self._end(CLOSE_FORBIDDEN, "Staff rights withdrawn.")
