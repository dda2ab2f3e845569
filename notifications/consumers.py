"""The `ws/orders/` consumer: owners hear their orders, staff hear all."""

from __future__ import annotations

from typing import Any

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from config.metrics import WEBSOCKETS_OPEN

from .groups import STAFF_GROUP, user_group

CLOSE_UNAUTHENTICATED = 4401


class OrderEventsConsumer(AsyncJsonWebsocketConsumer):
    groups_joined: list[str]
    counted = False  # whether this socket is in the open-connections gauge

    async def connect(self) -> None:
        self.groups_joined = []
        user = self.scope["user"]
        await self.accept(subprotocol=self.scope.get("subprotocol"))
        WEBSOCKETS_OPEN.inc()
        self.counted = True
        if not user.is_authenticated:
            # Accept-then-close so clients (browsers too) can read why: code 4401.
            await self.close(code=CLOSE_UNAUTHENTICATED, reason=self.scope.get("auth_error") or "")
            return
        # Every event goes to its owner's group and to the staff group: a member of both (staff
        # with their own orders) would hear each of those events twice.
        groups = [STAFF_GROUP] if user.is_staff else [user_group(user.pk)]
        for group in groups:
            await self.channel_layer.group_add(group, self.channel_name)
        self.groups_joined = groups

    async def disconnect(self, code: int) -> None:
        if self.counted:
            WEBSOCKETS_OPEN.dec()
            self.counted = False
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})

    async def order_event(self, message: dict[str, Any]) -> None:
        await self.send_json(message["event"])
