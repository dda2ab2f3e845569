"""Each web process's backstop for the session notices its sockets did not hear.

A change that ends a user's rights writes a `SessionNotice` in its own transaction and sends it
to the user's sessions group after commit. That send can be lost: the channel layer down, or
restarted empty, at that moment (its message and the sockets' group memberships gone), or the
socket's channel over capacity. So while a web process holds sockets it reads its sockets'
users' notices of the last minute once a second and hands them to those sockets, as the group
message would (`OrderEventsConsumer.session_revoke`): a socket whose rights ended closes within
about a second of the commit whatever became of the send. One query a second per process,
none per event; a copy of a notice the socket already heard changes nothing.

While the channel layer is down no event reaches a socket either (the workers push through
it). When a socket's receive fails, the process waits for the layer to answer, applies the
notices, re-joins every open socket's groups (a restarted Redis has forgotten them), applies
the notices again, and only then lets the sockets receive: a revocation made during the
outage closes its socket before any event sent after it can arrive.
"""

from __future__ import annotations

import asyncio
import logging
import random
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from channels.db import database_sync_to_async
from django.db import DatabaseError
from django.utils import timezone
from redis.exceptions import RedisError

from .selectors import session_notices_since

if TYPE_CHECKING:
    from .consumers import OrderEventsConsumer

logger = logging.getLogger(__name__)

POLL_SECONDS = 1.0
LOOKBACK = timedelta(seconds=60)  # how far back each read looks: longer than any commit takes
# Errors of a channel layer (channels-redis) that is unreachable; OSError: timeouts too.
LAYER_ERRORS: tuple[type[Exception], ...] = (RedisError, OSError)
WATCH_ERRORS: tuple[type[Exception], ...] = (DatabaseError, *LAYER_ERRORS)


def latest_per_user(rows: list[tuple[int, dict[str, Any]]]) -> dict[int, list[dict[str, Any]]]:
    """Each user's notices to apply, oldest first: every signed-out session, and of the notices
    carrying the user's rights only the latest (an older one may describe rights since given
    back: a socket opened after them must not be closed for it)."""
    out: dict[int, list[dict[str, Any]]] = {}
    rights: dict[int, dict[str, Any]] = {}
    for user_id, notice in rows:
        if "sid" in notice:
            out.setdefault(user_id, []).append(notice)
        else:
            rights[user_id] = notice
    for user_id, notice in rights.items():
        out.setdefault(user_id, []).append(notice)
    return out


class SessionWatch:
    """The sockets this process holds, by user, and the loop that reads their notices."""

    def __init__(self) -> None:
        self._sockets: dict[int, set[OrderEventsConsumer]] = {}
        self._task: asyncio.Task[None] | None = None
        self._layer_back: asyncio.Event | None = None  # set once the layer is usable again

    def watch(self, user_id: int, socket: OrderEventsConsumer) -> None:
        self._sockets.setdefault(user_id, set()).add(socket)
        self._ensure_running()

    def unwatch(self, user_id: int, socket: OrderEventsConsumer) -> None:
        sockets = self._sockets.get(user_id)
        if sockets is not None:
            sockets.discard(socket)
            if not sockets:
                del self._sockets[user_id]

    async def layer_failed(self, error: BaseException) -> None:
        """A socket's channel-layer receive failed: return once the layer answers again, every
        socket is back in its groups and the notices written meanwhile are applied."""
        if self._layer_back is None:
            logger.warning("Channel layer unreachable (%s): sockets wait for it.", error)
            self._layer_back = asyncio.Event()
        back = self._layer_back
        self._ensure_running()
        await back.wait()

    def _ensure_running(self) -> None:
        loop = asyncio.get_running_loop()
        if self._task is None or self._task.done() or self._task.get_loop() is not loop:
            self._task = loop.create_task(self._run())

    async def _run(self) -> None:
        while self._sockets or self._layer_back is not None:
            try:
                await self._apply_notices()
                if self._layer_back is not None:
                    await self._recover()
            except WATCH_ERRORS as exc:
                logger.warning("Session notices not read (%s): retrying.", exc)
            await asyncio.sleep(POLL_SECONDS * random.uniform(0.9, 1.1))  # noqa: S311

    async def _apply_notices(self) -> None:
        if not self._sockets:
            return
        since: datetime = timezone.now() - LOOKBACK
        rows = await database_sync_to_async(session_notices_since)(
            since=since, user_ids=list(self._sockets)
        )
        for user_id, notices in latest_per_user(rows).items():
            for socket in list(self._sockets.get(user_id, ())):
                if not socket.accepted or socket.closing:
                    continue  # still connecting: its own lookup, or the next read, decides
                for notice in notices:
                    try:
                        await socket.session_revoke({"type": "session.revoke", **notice})
                    except OSError:  # its client is gone: its disconnect cleans up
                        break

    async def _recover(self) -> None:
        """Raises (a layer error) until the layer answers; then re-joins and releases."""
        for sockets in list(self._sockets.values()):
            for socket in list(sockets):
                if not socket.closing:
                    await socket.rejoin_groups()
        await self._apply_notices()
        assert self._layer_back is not None
        self._layer_back.set()
        self._layer_back = None
        logger.warning("Channel layer reachable again: sockets re-joined their groups.")


session_watch = SessionWatch()
