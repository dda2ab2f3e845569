"""The `ws/orders/` socket in process: handshake authentication, origin checks, who hears what."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.test import override_settings
from django.utils import timezone
from ninja_jwt.tokens import AccessToken

from accounts.services import token_blacklist, token_obtain
from accounts.tests.factories import PASSWORD, StaffFactory, UserFactory
from config.asgi import application
from conftest import access_for
from notifications import services, tasks
from notifications.consumers import CLOSE_UNAUTHENTICATED
from notifications.groups import sessions_group, user_group
from notifications.models import OrderEvent

from .factories import change_status, message_of, new_order

# Not transactional: commit hooks never fire, so the only delivery is the one a test runs
# itself, whichever way the settings route tasks (in-process, or a broker with no worker here).
pytestmark = pytest.mark.django_db

IN_MEMORY = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}


@pytest.fixture(autouse=True)
def _in_memory_layer() -> Iterator[None]:
    with override_settings(CHANNEL_LAYERS=IN_MEMORY):
        yield


@pytest.fixture(autouse=True)
def _test_owns_the_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    # database_sync_to_async closes "old" connections around each call; inside the test's
    # transaction that closes the test's own PostgreSQL connection. Django's test client
    # makes the same exception for its request signals.
    monkeypatch.setattr("channels.db.close_old_connections", lambda: None)


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    """Run one async scenario on one event loop (the in-memory layer lives on it)."""
    async_to_sync(scenario)()


def socket(
    *,
    token: str | None = None,
    via: str = "subprotocol",
    origin: str | None = None,
) -> WebsocketCommunicator:
    path = "/ws/orders/"
    subprotocols = None
    if token is not None and via == "subprotocol":
        subprotocols = ["jwt", token]
    elif token is not None:
        path += f"?token={token}"
    headers = [(b"origin", origin.encode())] if origin else []
    return WebsocketCommunicator(application, path, headers=headers, subprotocols=subprotocols)


deliver = sync_to_async(lambda event_id: tasks.deliver_order_event.apply((event_id,)).get())


def push_due() -> None:
    """Push what is already due (the set-up orders' order.created) before any socket listens,
    so a test's `deliver` pushes exactly the events it made."""
    services.events_deliver(event_ids=list(OrderEvent.objects.values_list("pk", flat=True)))


changed = sync_to_async(change_status)


async def hears_nothing(ws: WebsocketCommunicator) -> bool:
    # Only used after another socket received the same broadcast: in-memory delivery to every
    # group member happens in the same group_send, so a message would already be queued.
    return await ws.receive_nothing(timeout=0.2)


def test_subprotocol_token_is_answered_with_the_label_only():
    user = UserFactory()
    token = access_for(user)

    async def scenario() -> None:
        ws = socket(token=token, via="subprotocol")
        connected, subprotocol = await ws.connect()
        assert (connected, subprotocol) == (True, "jwt")
        await ws.send_json_to({"type": "ping"})
        assert await ws.receive_json_from() == {"type": "pong"}
        await ws.disconnect()

    run(scenario)


def test_query_token_is_accepted_without_a_subprotocol():
    user = UserFactory()
    token = access_for(user)

    async def scenario() -> None:
        ws = socket(token=token, via="query")
        assert await ws.connect() == (True, None)
        await ws.send_json_to({"type": "ping"})
        assert await ws.receive_json_from() == {"type": "pong"}
        await ws.disconnect()

    run(scenario)


def _expired(user: Any) -> str:
    token = AccessToken(access_for(user))
    token.set_exp(from_time=timezone.now() - timedelta(hours=1))  # re-signed, only expired
    return str(token)


def _signed_out(user: Any) -> str:
    pair = token_obtain(username=user.username, password=PASSWORD)
    token_blacklist(refresh=pair["refresh"])
    return pair["access"]


def _refresh_instead_of_access(user: Any) -> str:
    return token_obtain(username=user.username, password=PASSWORD)["refresh"]


def _foreign_signature(user: Any) -> str:
    header, payload, _ = access_for(user).split(".")
    return f"{header}.{payload}.{'A' * 43}"


BAD_TOKENS: dict[str, Callable[[Any], str | None]] = {
    "missing": lambda user: None,
    "empty": lambda user: "",
    "malformed": lambda user: "not-a-jwt",
    "expired": _expired,
    "signed-out": _signed_out,
    "refresh-token": _refresh_instead_of_access,
    "bad-signature": _foreign_signature,
}


@pytest.mark.parametrize("via", ["subprotocol", "query"])
@pytest.mark.parametrize("kind", list(BAD_TOKENS))
def test_bad_token_is_closed_with_4401_and_hears_nothing(kind, via):
    owner = UserFactory()
    staff = StaffFactory()
    order = new_order(customer=owner)
    push_due()
    token = BAD_TOKENS[kind](owner)

    async def scenario() -> None:
        ws = socket(token=token, via=via)
        connected, _ = await ws.connect()
        assert connected is True  # accepted, then closed at once so clients can read why
        closing = await ws.receive_output(timeout=1)
        assert closing["type"] == "websocket.close"
        assert closing["code"] == CLOSE_UNAUTHENTICATED
        if token:
            assert token not in closing.get("reason", "")
        # Nothing reaches it afterwards, not even an event of the token owner's order.
        event = await changed(order=order, status="processing", by=staff)
        assert await deliver(event.pk) == 1
        assert await ws.receive_nothing(timeout=0.2)

    run(scenario)


def test_customer_hears_its_own_order_and_not_anothers():
    owner, stranger, staff = UserFactory(), UserFactory(), StaffFactory()
    order = new_order(customer=owner)
    strangers_order = new_order(customer=stranger)
    push_due()
    owner_token, stranger_token = access_for(owner), access_for(stranger)

    async def scenario() -> None:
        mine = socket(token=owner_token)
        theirs = socket(token=stranger_token, via="query")
        assert (await mine.connect())[0] and (await theirs.connect())[0]

        event = await changed(order=order, status="shipped", by=staff)
        assert await deliver(event.pk) == 1
        received = await mine.receive_json_from(timeout=2)
        assert received == message_of(event)
        assert {k: received[k] for k in ("order_id", "new_status")} == {
            "order_id": order.pk,
            "new_status": "shipped",
        }
        assert received["old_status"] == "pending"
        assert await hears_nothing(theirs)

        other = await changed(order=strangers_order, status="processing", by=staff)
        assert await deliver(other.pk) == 1
        assert await theirs.receive_json_from(timeout=2) == message_of(other)
        assert await hears_nothing(mine)
        await mine.disconnect()
        await theirs.disconnect()

    run(scenario)


def test_an_open_socket_is_already_subscribed():
    """The socket is accepted only once it is in its groups: a message sent to them the moment
    the client sees it open is heard (it used to join them after a database lookup)."""
    owner: Any = UserFactory()
    token = access_for(owner)

    async def scenario() -> None:
        ws = socket(token=token)
        assert (await ws.connect())[0]
        layer = get_channel_layer()
        assert layer is not None
        event = {"id": 1, "type": "order.created"}
        await layer.group_send(user_group(owner.pk), {"type": "order.event", "event": event})
        assert await ws.receive_json_from(timeout=2) == event
        await ws.disconnect()

    run(scenario)


def test_staff_hear_every_order_once():
    first, second = UserFactory(), UserFactory()
    staff = StaffFactory()
    staffs_own_order = new_order(customer=staff)
    orders = [new_order(customer=first), new_order(customer=second), staffs_own_order]
    push_due()
    staff_token = access_for(staff)

    async def scenario() -> None:
        ws = socket(token=staff_token)
        assert await ws.connect() == (True, "jwt")
        events = [await changed(order=o, status="processing", by=staff) for o in orders]
        assert await deliver(events[0].pk) == 3  # one task pushes every event due
        for event in events:
            assert await deliver(event.pk) == 0
        received = [await ws.receive_json_from(timeout=2) for _ in events]
        assert received == [message_of(e) for e in events]
        # Staff who own an order are in both groups; they must still hear it once.
        assert await ws.receive_nothing(timeout=0.2)
        await ws.disconnect()

    run(scenario)


def test_events_are_delivered_once_even_when_the_task_runs_twice():
    owner, staff = UserFactory(), StaffFactory()
    order = new_order(customer=owner)
    push_due()
    token = access_for(owner)

    async def scenario() -> None:
        ws = socket(token=token)
        assert (await ws.connect())[0]
        event = await changed(order=order, status="cancelled", by=staff)
        assert await deliver(event.pk) == 1
        assert await deliver(event.pk) == 0
        assert await ws.receive_json_from(timeout=2) == message_of(event)
        assert await ws.receive_nothing(timeout=0.2)
        await ws.disconnect()

    run(scenario)
    assert OrderEvent.objects.get(type="order.status_changed").delivered_at is not None


@pytest.mark.parametrize(
    "origin",
    ["http://evil.example", "https://localhost.evil.example", "null"],
)
def test_browser_origin_outside_allowed_hosts_is_refused(origin):
    user = UserFactory()
    token = access_for(user)

    async def scenario() -> None:
        ws = socket(token=token, origin=origin)
        connected, _ = await ws.connect()
        assert connected is False

    run(scenario)


@pytest.mark.parametrize("origin", ["http://localhost:8000", "https://127.0.0.1"])
def test_browser_origin_in_allowed_hosts_is_accepted(origin):
    user = UserFactory()
    token = access_for(user)

    async def scenario() -> None:
        ws = socket(token=token, origin=origin)
        assert await ws.connect() == (True, "jwt")
        await ws.disconnect()

    run(scenario)


# ---- frames the consumer refuses, and revocation messages, in process ------------------------


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ({"bytes_data": b"\x00binary"}, 1003),
        ({"text_data": "{not json"}, 1007),
        ({"text_data": '{"type": "subscribe"}'}, 1007),
        ({"text_data": '["ping"]'}, 1007),
        ({"text_data": "[" * 5000 + "]" * 5000}, 1007),
        ({"text_data": '{"type": "ping", "pad": "' + "x" * 16_400 + '"}'}, 1009),
        ({"text_data": "é" * 9000}, 1009),  # 9,000 characters, 18,000 bytes
    ],
)
def test_a_frame_other_than_ping_closes_the_socket_and_leaves_its_groups(frame, code):
    from channels.layers import get_channel_layer

    user: Any = UserFactory()
    token = access_for(user)

    async def scenario() -> None:
        ws = socket(token=token)
        assert (await ws.connect())[0] is True
        await ws.send_json_to({"type": "ping"})
        assert await ws.receive_json_from() == {"type": "pong"}
        await ws.send_to(**frame)
        closing = await ws.receive_output(timeout=1)
        assert (closing["type"], closing["code"]) == ("websocket.close", code)
        layer = get_channel_layer()
        assert layer is not None
        for group in (sessions_group(user.pk), user_group(user.pk)):
            assert not layer.groups.get(group)  # type: ignore[attr-defined]

    run(scenario)


REVOCATIONS: dict[str, tuple[dict[str, Any], bool, int | None]] = {
    # message fields (besides type), staff socket?, expected close code (None: stays open)
    "its session signed out": ({"sid": "SID"}, False, 4401),
    "another session signed out": ({"sid": "another"}, False, None),
    "deactivated": ({"is_active": False, "is_staff": False, "token_key": "KEY"}, False, 4401),
    "new token key": ({"is_active": True, "is_staff": False, "token_key": "new"}, False, 4401),
    "unchanged": ({"is_active": True, "is_staff": False, "token_key": "KEY"}, False, None),
    "staff demoted": ({"is_active": True, "is_staff": False, "token_key": "KEY"}, True, 4403),
    "customer promoted": ({"is_active": True, "is_staff": True, "token_key": "KEY"}, False, None),
}


@pytest.mark.parametrize("case", list(REVOCATIONS))
def test_a_revocation_message_closes_only_the_sockets_it_concerns(case):
    from channels.layers import get_channel_layer

    fields, staff, expected = REVOCATIONS[case]
    user: Any = StaffFactory() if staff else UserFactory()
    pair = token_obtain(username=user.username, password=PASSWORD)
    claims = AccessToken(pair["access"])
    message = {
        k: (claims["sid"] if v == "SID" else user.token_key if v == "KEY" else v)
        for k, v in fields.items()
    }

    async def scenario() -> None:
        ws = socket(token=pair["access"])
        assert (await ws.connect())[0] is True
        await ws.send_json_to({"type": "ping"})
        assert await ws.receive_json_from() == {"type": "pong"}
        layer = get_channel_layer()
        assert layer is not None
        await layer.group_send(sessions_group(user.pk), {"type": "session.revoke", **message})
        if expected is None:
            await ws.send_json_to({"type": "ping"})
            assert await ws.receive_json_from() == {"type": "pong"}
            await ws.disconnect()
        else:
            closing = await ws.receive_output(timeout=1)
            assert (closing["type"], closing["code"]) == ("websocket.close", expected)

    run(scenario)


def test_a_socket_closes_when_its_access_token_expires():
    user = UserFactory()
    token = AccessToken(access_for(user))
    token.set_exp(lifetime=timedelta(seconds=2))  # exp is whole seconds

    async def scenario() -> None:
        ws = socket(token=str(token))
        assert (await ws.connect())[0] is True
        closing = await ws.receive_output(timeout=4)
        assert (closing["type"], closing["code"], closing["reason"]) == (
            "websocket.close",
            4401,
            "Access token expired.",
        )

    run(scenario)
