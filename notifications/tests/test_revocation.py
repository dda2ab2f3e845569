"""Sockets that cannot outlive their rights, and frames they refuse, on real processes.

uvicorn A and B (started by bin/web, the one server command) and a Celery worker C share the
test's PostgreSQL database and Redis. Each way a sign-in or a right ends closes an open socket
on A within CLOSE_SECONDS, whichever process made the change, and the socket hears nothing
after. Malformed and oversized frames close the socket cleanly: no traceback in the server's
log, and the socket leaves its channel-layer groups. Two clients flooding oversized frames leave
the catalog's p50 under twice its idle value.
"""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

import pytest
import redis
from django.conf import settings
from django.contrib.auth.forms import AdminPasswordChangeForm
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.test import override_settings
from ninja_jwt.tokens import AccessToken
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Subprotocol

from accounts.models import User
from accounts.services import token_obtain
from accounts.tests.factories import PASSWORD, new_user
from accounts.throttles import counter_reset
from conftest import fullstack
from notifications.groups import STAFF_GROUP, sessions_group, user_group
from notifications.socket_limits import HOLD_SECONDS, MESSAGES_BURST
from testkit.live import call, stack_env, two_webs_and_a_worker, uvicorn
from testkit.processes import Service, running, wait_for

from .factories import new_order as place_order
from .test_fullstack import (
    ARRIVE_SECONDS,
    _logs_on_failure,  # noqa: F401  (autouse: every process's log when a test fails)
    _stack_idle_at_teardown,  # noqa: F401  (autouse: no flush while the stack still works)
    logs,  # noqa: F401
    new_order,  # its order.created already pushed: a socket opened after hears only the test
    next_event,
    open_socket,
    outage_stack,  # noqa: F401  (uvicorn A and B, worker C, beat on a throwaway Redis)
    patch_status,
    throwaway_redis,  # noqa: F401
)

pytestmark = [fullstack, pytest.mark.django_db(transaction=True)]

CLOSE_SECONDS = 5.0  # the bound, from the change's commit to the close frame
NEW_PASSWORD = "Tr0mbone-Kettle-Lantern"


@pytest.fixture(scope="module")
def stack(django_db_setup: Any, logs: Path) -> Iterator[dict[str, Service]]:  # noqa: F811
    env = stack_env()
    with running(two_webs_and_a_worker("revocation", env=env, logs=logs)) as services:
        yield services


def closed_within(ws: ClientConnection, seconds: float = CLOSE_SECONDS) -> tuple[int, str, float]:
    """Wait for the server's close frame; fail if any message arrives first. (code, reason, s)"""
    started = time.monotonic()
    try:
        message = ws.recv(timeout=seconds)
    except ConnectionClosed as closed:
        assert closed.rcvd is not None, "the server did not send a close frame"
        return closed.rcvd.code, closed.rcvd.reason, time.monotonic() - started
    except TimeoutError:
        raise AssertionError(f"the socket was still open after {seconds}s") from None
    raise AssertionError(f"the socket heard {message!r} instead of being closed")


def group_members(group: str) -> set[bytes]:
    """Channel names in a channels-redis group (its sorted set), from the test's Redis."""
    client = redis.Redis.from_url(settings.CHANNEL_LAYER_REDIS_URL)
    try:
        return set(cast(list[bytes], client.zrange(f"asgi:group:{group}".encode(), 0, -1)))
    finally:
        client.close()


def pair_for(user: Any, password: str = PASSWORD) -> dict[str, str]:
    return token_obtain(username=user.username, password=password)


def servers_can_check_the_password(user: User) -> None:
    """The servers run the production hasher (the test process a fast one): store its hash."""
    hashed = PBKDF2PasswordHasher().encode(PASSWORD, PBKDF2PasswordHasher().salt())
    User.objects.filter(pk=user.pk).update(password=hashed)


# ---- each way a sign-in ends ---------------------------------------------------------------


def _sign_out(stack: dict[str, Service], user: User, pair: dict[str, str]) -> None:
    code, _ = call(
        "POST", f"{stack['b'].url}/api/token/blacklist/", body={"refresh": pair["refresh"]}
    )
    assert code == 200


def _revoke_all(stack: dict[str, Service], user: User, pair: dict[str, str]) -> None:
    other = pair_for(user)["access"]  # from another device
    assert call("POST", f"{stack['b'].url}/api/token/revoke-all/", token=other)[0] == 200


def _password_via_api(stack: dict[str, Service], user: User, pair: dict[str, str]) -> None:
    other = pair_for(user)["access"]
    servers_can_check_the_password(user)
    body = {"old_password": PASSWORD, "new_password": NEW_PASSWORD}
    assert call("POST", f"{stack['b'].url}/api/password/", token=other, body=body)[0] == 200


def _password_via_admin_form(stack: dict[str, Service], user: User, pair: dict[str, str]) -> None:
    form = AdminPasswordChangeForm(
        User.objects.get(pk=user.pk), {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )
    assert form.is_valid(), form.errors
    form.save()


def _deactivated(stack: dict[str, Service], user: User, pair: dict[str, str]) -> None:
    same = User.objects.get(pk=user.pk)  # as the admin's change form saves it
    same.is_active = False
    same.save()


def _deleted(stack: dict[str, Service], user: User, pair: dict[str, str]) -> None:
    User.objects.get(pk=user.pk).delete()


def _reused_refresh(stack: dict[str, Service], user: User, pair: dict[str, str]) -> None:
    b = stack["b"].url
    assert call("POST", f"{b}/api/token/refresh/", body={"refresh": pair["refresh"]})[0] == 200
    code, body = call("POST", f"{b}/api/token/refresh/", body={"refresh": pair["refresh"]})
    assert (code, body["code"]) == (401, "token_reused")


ENDINGS: dict[str, Callable[[dict[str, Service], User, dict[str, str]], None]] = {
    "signed out (blacklist)": _sign_out,
    "sign out everywhere": _revoke_all,
    "password changed (API)": _password_via_api,
    "password changed (admin form)": _password_via_admin_form,
    "deactivated": _deactivated,
    "deleted": _deleted,
    "refresh token reused": _reused_refresh,
}


@pytest.mark.parametrize("ending", list(ENDINGS))
def test_an_open_socket_is_closed_4401_when_its_sign_in_ends(stack, ending):
    user, staff = new_user(), new_user(is_staff=True)
    pair = pair_for(user)
    order = new_order(customer=user) if ending != "deleted" else None  # orders protect users
    staff_token = pair_for(staff)["access"]

    with open_socket(stack["a"].ws, pair["access"]) as ws:
        assert group_members(sessions_group(user.pk))
        ENDINGS[ending](stack, user, pair)
        code, reason, seconds = closed_within(ws)
        assert code == 4401, reason
        if order is not None:
            # Nothing reaches it afterwards (the order's events still flow to staff).
            assert patch_status(stack["b"], order, "processing", staff_token)[0] == 200
    wait_for(
        lambda: (
            not group_members(sessions_group(user.pk)) and not group_members(user_group(user.pk))
        ),
        timeout=CLOSE_SECONDS,
        what="the socket to leave its groups",
    )
    print(f"{ending}: closed 4401 after {seconds * 1000:.0f} ms")


def test_another_session_of_the_same_user_stays_open_when_one_signs_out(stack):
    user = new_user()
    leaving, staying = pair_for(user), pair_for(user)
    with (
        open_socket(stack["a"].ws, leaving["access"]) as gone,
        open_socket(stack["b"].ws, staying["access"]) as kept,
    ):
        _sign_out(stack, user, leaving)
        assert closed_within(gone)[0] == 4401
        kept.send(json.dumps({"type": "ping"}))
        assert json.loads(kept.recv(timeout=5)) == {"type": "pong"}


def test_a_socket_is_closed_4401_when_its_access_token_expires(stack):
    user = new_user()
    access = AccessToken(pair_for(user)["access"])
    access.set_exp(lifetime=timedelta(seconds=2))
    with open_socket(stack["a"].ws, str(access)) as ws:
        code, reason, _ = closed_within(ws, seconds=2 + CLOSE_SECONDS)
    assert (code, reason) == (4401, "Access token expired.")


def test_a_demoted_staff_socket_is_closed_4403_and_hears_no_customers_event(stack):
    customer, demoted, other_staff = new_user(), new_user(is_staff=True), new_user(is_staff=True)
    order = new_order(customer=customer)
    other_token = pair_for(other_staff)["access"]

    with (
        open_socket(stack["a"].ws, pair_for(demoted)["access"]) as ws,
        open_socket(stack["b"].ws, other_token) as witness,
    ):
        same = User.objects.get(pk=demoted.pk)
        same.is_staff = False
        same.save(update_fields=["is_staff"])
        # The customer's order changes at once: the demoted socket must not hear it.
        assert patch_status(stack["b"], order, "processing", other_token)[0] == 200
        code, reason, _ = closed_within(ws)
        assert (code, reason) == (4403, "Staff rights withdrawn.")
        assert json.loads(witness.recv(timeout=20))["order_id"] == order.pk
    wait_for(
        lambda: not group_members(STAFF_GROUP),
        timeout=CLOSE_SECONDS,
        what="the staff group to be empty",
    )


# ---- a channel layer that is down when the rights end ---------------------------------------


@contextmanager
def layer_at(redis_url: str) -> Iterator[None]:
    """This process's own sends (a change made here) go to the stack's channel layer."""
    layer = {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [redis_url]}}
    with override_settings(CHANNEL_LAYERS={"default": layer}):
        yield


def _signed_out_via_b(outage: dict[str, Service], user: User, pair: dict[str, str]) -> None:
    body = {"refresh": pair["refresh"]}
    assert call("POST", f"{outage['b'].url}/api/token/blacklist/", body=body)[0] == 200


def _deactivated_here(outage: dict[str, Service], user: User, pair: dict[str, str]) -> None:
    same = User.objects.get(pk=user.pk)
    same.is_active = False
    same.save()


def _demoted_here(outage: dict[str, Service], user: User, pair: dict[str, str]) -> None:
    same = User.objects.get(pk=user.pk)
    same.is_staff = False
    same.save(update_fields=["is_staff"])


OUTAGE_ENDINGS: dict[
    str, tuple[Callable[[dict[str, Service], User, dict[str, str]], None], int]
] = {
    "signed out (API on B)": (_signed_out_via_b, 4401),
    "deactivated": (_deactivated_here, 4401),
    "staff withdrawn": (_demoted_here, 4403),
}


@pytest.mark.parametrize("ending", list(OUTAGE_ENDINGS))
def test_rights_ended_while_the_channel_layer_is_down_close_the_socket_before_any_event(
    throwaway_redis,  # noqa: F811
    outage_stack,  # noqa: F811
    ending,
):
    """The notice's send fails (Redis killed), Redis comes back empty and an event follows at
    once: the socket closes within CLOSE_SECONDS of the change and hears nothing first. A
    witness socket on the same server, whose rights did not change, outlives the outage and
    hears the event (its groups joined again)."""
    a, b = outage_stack["a"], outage_stack["b"]
    change, expected = OUTAGE_ENDINGS[ending]
    demoted = ending == "staff withdrawn"
    user, staff = new_user(is_staff=demoted), new_user(is_staff=True)
    pair, staff_token = pair_for(user), pair_for(staff)["access"]
    order = place_order(customer=new_user() if demoted else user)  # staff hear it
    logged = {name: outage_stack[name].log_size() for name in ("a", "b")}

    with (
        layer_at(throwaway_redis.url),
        open_socket(a.ws, pair["access"]) as ws,
        open_socket(a.ws, staff_token) as witness,
    ):
        throwaway_redis.stop(signal.SIGKILL)
        changed = time.monotonic()
        change(outage_stack, user, pair)
        throwaway_redis.start()  # same port, empty: the groups and any queued message are gone
        assert patch_status(b, order, "processing", staff_token)[0] == 200
        code, reason, _ = closed_within(ws, seconds=changed + CLOSE_SECONDS - time.monotonic())
        assert code == expected, reason
        print(f"{ending}: closed {code} {time.monotonic() - changed:.2f} s after the change")

        outage_stack["beat"].start()  # its sweep sends what the broker's restart lost
        deadline = time.monotonic() + ARRIVE_SECONDS + 10
        while (event := next_event(witness, timeout=deadline - time.monotonic())).get(
            "new_status"
        ) != "processing":
            assert event["order_id"] == order.pk  # its order.created, at most
    for name, start in logged.items():
        assert "Traceback" not in outage_stack[name].log(start)


# ---- frames ------------------------------------------------------------------------------


FRAMES: dict[str, tuple[Any, int]] = {
    "binary": (b"\x00\x01binary", 1003),
    "not JSON": ("{not json", 1007),
    "unknown message": (json.dumps({"type": "subscribe", "order": 1}), 1007),
    "deeply nested": ("[" * 8000 + "]" * 8000, 1007),
    "just over the limit": (json.dumps({"type": "ping", "pad": "x" * 16_400}), 1009),
    "15 MB": ("x" * 15_000_000, 1009),
}


@pytest.mark.parametrize("frame", list(FRAMES))
def test_a_bad_frame_closes_the_socket_cleanly(stack, frame):
    a = stack["a"]
    user = new_user()
    payload, expected = FRAMES[frame]
    start = a.log_size()
    with open_socket(a.ws, pair_for(user)["access"]) as ws:
        ws.send(payload)
        code, _, _ = closed_within(ws)
    assert code == expected
    wait_for(
        lambda: (
            not group_members(sessions_group(user.pk)) and not group_members(user_group(user.pk))
        ),
        timeout=CLOSE_SECONDS,
        what="the socket to leave its groups",
    )
    logged = a.log(start)
    assert "Traceback" not in logged, logged
    assert call("GET", f"{a.url}/api/categories/")[0] == 200  # and the server serves on


# ---- the server command's forwarded headers ------------------------------------------------


@pytest.fixture
def throttled_server(
    logs: Path,  # noqa: F811
    clear_of_a_minute_boundary: None,
) -> Iterator[Callable[..., Service]]:
    started: list[Service] = []

    def start(**extra: str) -> Service:
        env = stack_env(AUTH_THROTTLE_RATE="3/min", **extra)
        service = uvicorn(f"throttled-{len(started)}", env=env, logs=logs)
        started.append(service)
        return service.start()

    yield start
    for service in started:
        service.stop()


def _logins_with_spoofed_addresses(server: Service, user: User, n: int) -> list[int]:
    import urllib.error
    import urllib.request

    codes = []
    body = json.dumps({"username": user.username, "password": PASSWORD}).encode()
    for i in range(n):
        request = urllib.request.Request(
            f"{server.url}/api/token/",
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", "X-Forwarded-For": f"203.0.113.{i + 1}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                codes.append(response.status)
        except urllib.error.HTTPError as error:
            codes.append(error.code)
    return codes


def test_a_spoofed_forwarded_for_does_not_escape_the_login_throttle(throttled_server):
    user = new_user()
    servers_can_check_the_password(user)
    server = throttled_server()
    for i in range(5):
        counter_reset(f"login:ip:203.0.113.{i + 1}")
    counter_reset("login:ip:127.0.0.1")
    assert _logins_with_spoofed_addresses(server, user, 4) == [200, 200, 200, 429]


def test_forwarded_headers_count_only_from_the_proxies_the_operator_names(throttled_server):
    # The control: with 127.0.0.1 named a trusted proxy, each forwarded address counts apart.
    user = new_user()
    servers_can_check_the_password(user)
    server = throttled_server(FORWARDED_ALLOW_IPS="127.0.0.1")
    for i in range(5):
        counter_reset(f"login:ip:203.0.113.{i + 1}")
    assert _logins_with_spoofed_addresses(server, user, 4) == [200, 200, 200, 200]


# ---- floods --------------------------------------------------------------------------------

# Just over WS_MAX_MESSAGE_BYTES: each flood round trip is cheap for the client (no 15 MB to mask
# and copy), so the server pays a handshake, a user lookup and the group joins as fast as the
# flooders can ask. Without the opens limit that took the catalog p50 from 1 ms to 5 ms here.
FLOOD_FRAME_BYTES = 17_000


def test_two_clients_flooding_oversized_frames_leave_the_catalog_p50_under_twice_idle(stack):
    """Idle and flooded windows alternate, so a neighbour's load on a shared machine weighs on
    both; each p50 pools every sample of its windows."""
    from bench.ws_flood import measure

    a = stack["a"]
    start = a.log_size()
    result = measure(
        a.url,
        pair_for(new_user())["access"],
        seconds=12.0,
        rounds=6,
        frame_bytes=FLOOD_FRAME_BYTES,
    )
    print(f"ws flood: {json.dumps(result)}")
    assert result["frames_sent"] > 0
    assert result["flooded"]["n"] > 0  # every GET answered 200 (measure raises otherwise)
    assert result["flooded"]["p50_ms"] < 2 * result["idle"]["p50_ms"], result
    assert a.alive()
    assert "Traceback" not in a.log(start)
    # A flood leaves other users' sockets, and the refusal of their bad frames, as they were.
    for payload, expected in FRAMES.values():
        with open_socket(a.ws, pair_for(new_user())["access"]) as ws:
            ws.send(payload)
            assert closed_within(ws)[0] == expected
    assert "Traceback" not in a.log(start)


def _open_and_ping(ws_url: str, token: str) -> int | None:
    """None if the socket answered a ping, else the HTTP status that refused the handshake."""
    protocols = [Subprotocol("jwt"), Subprotocol(token)]
    try:
        with connect(ws_url, subprotocols=protocols, open_timeout=HOLD_SECONDS + 5) as ws:
            ws.send(json.dumps({"type": "ping"}))
            assert json.loads(ws.recv(timeout=5)) == {"type": "pong"}
    except InvalidStatus as refused:
        response = refused.response
        assert response.headers["Retry-After"] == str(int(HOLD_SECONDS))
        assert json.loads(response.body or b"") == {
            "detail": "Too many sockets opened: retry later.",
            "code": "too_many_sockets",
        }
        return response.status_code
    return None


def test_opening_sockets_faster_than_the_limit_is_refused_429_for_that_user_only(stack):
    a = stack["a"]
    flooder, bystander = new_user(), new_user()
    token = pair_for(flooder)["access"]
    limit = settings.WS_OPENS_PER_MINUTE
    start = a.log_size()
    opened, started = 0, time.monotonic()
    while (refused := _open_and_ping(a.ws, token)) is None:
        opened += 1
        assert opened < 2 * limit, "the bucket refills a little while the test opens, not this"
        started = time.monotonic()
    assert refused == 429
    assert opened >= limit
    assert time.monotonic() - started >= HOLD_SECONDS  # held, then refused
    assert _open_and_ping(a.ws, pair_for(bystander)["access"]) is None
    assert "Traceback" not in a.log(start)


def test_a_socket_that_sends_faster_than_it_may_is_closed_1008(stack):
    a = stack["a"]
    start = a.log_size()
    with open_socket(a.ws, pair_for(new_user())["access"]) as ws:  # its first ping
        for _ in range(MESSAGES_BURST):
            ws.send(json.dumps({"type": "ping"}))
        code, reason = None, ""
        try:
            while True:
                assert json.loads(ws.recv(timeout=CLOSE_SECONDS)) == {"type": "pong"}
        except ConnectionClosed as closed:
            assert closed.rcvd is not None
            code, reason = closed.rcvd.code, closed.rcvd.reason
    assert code == 1008, reason
    assert "Traceback" not in a.log(start)
