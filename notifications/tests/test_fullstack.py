"""Live notifications across real processes: two uvicorn servers, a Celery worker and beat.

A socket held by uvicorn A hears a change made through uvicorn B and pushed by worker C, all
sharing the test's PostgreSQL database and Redis. The Redis outage test runs its own stack
against a throwaway redis-server on a free port (never the machine's own Redis).
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Origin, Subprotocol

from accounts.services import token_blacklist, token_obtain
from accounts.tests.factories import PASSWORD, StaffFactory, UserFactory
from conftest import access_for, fullstack, side_connection
from notifications.models import OrderEvent
from orders.models import Order
from orders.services import order_status_change
from testkit.live import beat, call, stack_env, two_webs_and_a_worker, uvicorn, worker
from testkit.processes import START_SECONDS, Service, running, wait_for
from testkit.redis_server import RedisServer

from .factories import message_of, placed_event
from .factories import new_order as place_order

pytestmark = [fullstack, pytest.mark.django_db(transaction=True)]

ARRIVE_SECONDS = 20.0  # an event must reach a socket within this once it can be delivered
QUIET_SECONDS = 1.5  # a socket that hears nothing for this long after the others did hears nothing
PROMPT_SECONDS = 2.0  # an API answer while Redis is down must come within this


def open_socket(ws_url: str, token: str, *, via: str = "subprotocol") -> ClientConnection:
    """A connected socket that has joined its groups (the server answered a ping after that).

    Returned open (`legacy=True`); callers close it with `with open_socket(...) as ws:`.
    """
    if via == "query":
        ws = connect(f"{ws_url}?token={token}", open_timeout=5, legacy=True)
    else:
        protocols = [Subprotocol("jwt"), Subprotocol(token)]
        ws = connect(ws_url, subprotocols=protocols, open_timeout=5, legacy=True)
    try:
        assert ws.subprotocol == ("jwt" if via == "subprotocol" else None)
        ws.send(json.dumps({"type": "ping"}))
        assert json.loads(ws.recv(timeout=5)) == {"type": "pong"}
    except BaseException:
        ws.close()
        raise
    return ws


def next_event(ws: ClientConnection, timeout: float = ARRIVE_SECONDS) -> dict[str, Any]:
    return json.loads(ws.recv(timeout=timeout))


def hears_nothing(ws: ClientConnection, quiet: float = QUIET_SECONDS) -> bool:
    try:
        message = ws.recv(timeout=quiet)
    except TimeoutError:
        return True
    raise AssertionError(f"this socket should hear nothing, got {message!r}")


def patch_status(server: Service, order: Order, status: str, token: str) -> tuple[int, Any, float]:
    started = time.monotonic()
    code, body = call(
        "PATCH", f"{server.url}/api/orders/{order.pk}/", token=token, body={"status": status}
    )
    return code, body, time.monotonic() - started


def new_order(*, customer: Any) -> Order:
    """A placed order whose `order.created` event a worker has already pushed, so sockets
    opened afterwards hear only what the test does next."""
    order = place_order(customer=customer)
    wait_delivered(placed_event(order))
    return order


def latest_event(order: Order) -> OrderEvent:
    return OrderEvent.objects.filter(order=order).latest("id")


def wait_delivered(event: OrderEvent) -> None:
    """The worker marks an event delivered just after pushing it: poll, don't race it."""

    def delivered() -> bool:
        event.refresh_from_db()
        return event.delivered_at is not None

    wait_for(delivered, timeout=ARRIVE_SECONDS, what=f"event {event.pk} to be marked delivered")


# ---- fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fullstack-logs")


@pytest.fixture(scope="module")
def stack(django_db_setup: Any, logs: Path) -> Iterator[dict[str, Service]]:
    """uvicorn A and B and worker C on the test's database and Redis, for the whole module."""
    env = stack_env()
    with running(two_webs_and_a_worker("fullstack", env=env, logs=logs)) as services:
        yield services


@pytest.fixture(autouse=True)
def _logs_on_failure() -> Iterator[None]:
    """Print what every process logged during the test; pytest shows it only if the test fails."""
    offsets = {s.log_path: s.log_size() for s in Service.started}
    yield
    for service in Service.started:
        logged = service.log(offsets.get(service.log_path, 0))
        if logged:
            print(f"----- {service.name} ({service.log_path}) -----")
            print(logged[-20_000:])


@pytest.fixture(autouse=True)
def _stack_idle_at_teardown(transactional_db: Any) -> Iterator[None]:
    """Before the test's tables are flushed, let the stack's processes finish what the test set
    going (a worker still fanning out an event, say): a TRUNCATE racing their transactions can
    deadlock. Waits at most a few seconds; a backend stuck on purpose (a killed worker's) does
    not hold the teardown up for longer."""
    yield
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND state IN ('active', 'idle in transaction')"
            )
            (busy,) = cursor.fetchone()
        if not busy:
            return
        time.sleep(0.05)


@pytest.fixture
def people(transactional_db: Any) -> dict[str, Any]:
    owner, stranger, staff = UserFactory(), UserFactory(), StaffFactory()
    return {
        "owner": owner,
        "stranger": stranger,
        "staff": staff,
        "owner_token": access_for(owner),
        "stranger_token": access_for(stranger),
        "staff_token": access_for(staff),
    }


# ---- the main Redis ----------------------------------------------------------------------


def test_change_through_b_reaches_a_socket_on_a_via_worker_c(stack, people):
    a, b, c = stack["a"], stack["b"], stack["c"]
    order = new_order(customer=people["owner"])
    worker_log_start = c.log_size()

    with open_socket(a.ws, people["owner_token"]) as ws:
        code, body, _ = patch_status(b, order, "shipped", people["staff_token"])
        sent = time.monotonic()
        assert (code, body["status"]) == (200, "shipped")
        received = next_event(ws)
        latency = time.monotonic() - sent

    event = latest_event(order)
    assert received == message_of(event)
    assert {k: received[k] for k in ("order_id", "new_status")} == {
        "order_id": order.pk,
        "new_status": "shipped",
    }
    assert "notifications.tasks.deliver_order_event[" in c.log(worker_log_start)
    wait_delivered(event)
    print(f"PATCH on B -> worker C -> socket on A: {latency * 1000:.0f} ms")


def test_a_stranger_hears_nothing_and_staff_hear_every_order(stack, people):
    a, b = stack["a"], stack["b"]
    owners_order = new_order(customer=people["owner"])
    strangers_order = new_order(customer=people["stranger"])
    staff_token = people["staff_token"]

    with (
        open_socket(a.ws, people["owner_token"]) as owner,
        open_socket(b.ws, people["stranger_token"], via="query") as stranger,
        open_socket(a.ws, staff_token) as staff,
        open_socket(b.ws, staff_token) as staff_elsewhere,
    ):
        assert patch_status(b, owners_order, "processing", staff_token)[0] == 200
        first = message_of(latest_event(owners_order))
        assert next_event(owner) == first
        assert next_event(staff) == first
        assert next_event(staff_elsewhere) == first
        assert hears_nothing(stranger)

        assert patch_status(a, strangers_order, "cancelled", staff_token)[0] == 200
        second = message_of(latest_event(strangers_order))
        assert next_event(stranger) == second
        assert next_event(staff) == second
        assert next_event(staff_elsewhere) == second
        assert hears_nothing(owner)
        assert hears_nothing(staff, quiet=0.2)  # and each change exactly once


def test_admin_made_change_notifies(stack, people):
    """The Django admin changes status through this same service, in its own process."""
    order = new_order(customer=people["owner"])

    with (
        open_socket(stack["a"].ws, people["owner_token"]) as owner,
        open_socket(stack["b"].ws, people["staff_token"]) as staff,
    ):
        order_status_change(order_id=order.pk, status="delivered", by=people["staff"])
        event = latest_event(order)
        assert next_event(owner) == message_of(event)
        assert next_event(staff) == message_of(event)


def test_with_the_worker_stopped_changes_commit_and_arrive_once_it_starts(stack, people):
    a, b, c = stack["a"], stack["b"], stack["c"]
    order = new_order(customer=people["owner"])

    with open_socket(a.ws, people["owner_token"]) as ws:
        c.stop()
        code, body, _ = patch_status(b, order, "processing", people["staff_token"])
        assert (code, body["status"]) == (200, "processing")
        order.refresh_from_db()
        event = latest_event(order)
        assert (order.status, event.new_status, event.delivered_at) == (
            "processing",
            "processing",
            None,
        )
        assert hears_nothing(ws)

        c.start()
        assert next_event(ws) == message_of(event)

    wait_delivered(event)


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


@dataclass
class MidDelivery:
    event: OrderEvent
    worker: Service  # the worker running the delivery
    lock: Any  # the connection holding the outbox row's lock: rollback() releases it
    watcher: Any  # an autocommit connection reading pg_stat_activity

    def waiting(self) -> set[int]:
        """The backends of deliveries blocked on our lock: their locking read of the outbox
        (pg_stat_activity keeps only the first 1 KB of a query, so match its start). Read from
        their own connection, one statement at a time: PostgreSQL shows pg_stat_activity as it
        was when a transaction first read it. (A killed worker's backend goes on waiting:
        PostgreSQL notices the client is gone only when it next talks to it.)"""
        rows = self.watcher.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND query LIKE %s",
            ['SELECT "notifications_orderevent"."id"%'],
        ).fetchall()
        return {pid for (pid,) in rows}


@pytest.fixture
def mid_delivery(stack, people, logs) -> Iterator[Callable[[str], MidDelivery]]:
    """Stop worker C, change an order, lock its outbox row, then start a worker of `pool`: it
    takes the task and blocks inside it. Afterwards stops that worker, drops the lock and
    restarts C for the module's other tests."""
    held: list[MidDelivery] = []

    def hold(pool: str) -> MidDelivery:
        order = new_order(customer=people["owner"])
        stack["c"].stop()
        assert patch_status(stack["b"], order, "shipped", people["staff_token"])[0] == 200
        event = latest_event(order)
        lock, watcher = side_connection(), side_connection()
        watcher.autocommit = True
        lock.execute("SELECT 1 FROM notifications_orderevent WHERE id = %s FOR UPDATE", [event.pk])
        doomed = worker(f"doomed-{pool}", env=stack_env(), logs=logs, pool=pool)
        held.append(MidDelivery(event, doomed, lock, watcher))
        doomed.start()
        wait_for(held[-1].waiting, timeout=ARRIVE_SECONDS, what="the task to start")
        return held[-1]

    yield hold
    for h in held:
        h.lock.close()
        h.watcher.close()
        h.worker.stop(signal.SIGKILL)
    if not stack["c"].alive():
        stack["c"].start()


def test_a_worker_child_killed_mid_delivery_hands_the_task_back(stack, people, mid_delivery):
    """acks_late + task_reject_on_worker_lost: the killed child's message is redelivered."""
    with open_socket(stack["a"].ws, people["owner_token"]) as ws:
        held = mid_delivery("prefork")
        assert next_event(ws) == message_of(placed_event(held.event.order))  # before the hold
        assert held.worker.proc is not None
        parent = held.worker.proc.pid
        (child,) = _children(parent)
        first = held.waiting()
        os.kill(child, signal.SIGKILL)
        wait_for(
            lambda: "WorkerLostError" in held.worker.log(held.worker.started_at_offset),
            timeout=ARRIVE_SECONDS,
            what="the worker to notice its lost child",
        )
        # The parent handed the message back; its new child takes it and waits on our lock.
        wait_for(lambda: _children(parent) not in ([], [child]), timeout=10, what="a new child")
        wait_for(lambda: held.waiting() - first, timeout=ARRIVE_SECONDS, what="the task again")
        assert hears_nothing(ws, quiet=0.3)

        held.lock.rollback()  # release the lock: the retry delivers
        assert next_event(ws) == message_of(held.event)
        wait_delivered(held.event)
        assert hears_nothing(ws)  # exactly once


def test_a_worker_killed_mid_delivery_loses_nothing_the_sweep_resends(
    stack, people, logs, mid_delivery
):
    """A whole worker dies (SIGKILL, no chance to hand back): beat's sweep sends the event."""
    with open_socket(stack["a"].ws, people["owner_token"]) as ws:
        held = mid_delivery("solo")
        assert next_event(ws) == message_of(placed_event(held.event.order))  # before the hold
        held.worker.stop(signal.SIGKILL)
        held.lock.rollback()
        held.event.refresh_from_db()
        assert held.event.delivered_at is None
        assert hears_nothing(ws, quiet=0.3)

        sweeper = beat("sweeper", env=stack_env(OUTBOX_SWEEP_SECONDS="1"), logs=logs).start()
        try:
            stack["c"].start()
            assert next_event(ws) == message_of(held.event)  # once the sweep's grace is over
            wait_delivered(held.event)
            assert hears_nothing(ws)
        finally:
            sweeper.stop()


@pytest.mark.parametrize("via", ["query", "subprotocol"])
def test_bad_tokens_are_closed_with_4401_by_the_real_server(stack, people, via):
    owner = people["owner"]
    pair = token_obtain(username=owner.username, password=PASSWORD)
    token_blacklist(refresh=pair["refresh"])

    for token in ("not-a-jwt", pair["access"], pair["refresh"]):
        with pytest.raises(ConnectionClosed) as closed:
            open_socket(stack["a"].ws, token, via=via)
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 4401


def test_a_foreign_browser_origin_is_refused_at_the_handshake(stack, people):
    protocols = [Subprotocol("jwt"), Subprotocol(people["owner_token"])]
    with pytest.raises(InvalidStatus) as refused:
        with connect(stack["a"].ws, subprotocols=protocols, origin=Origin("http://evil.example")):
            pass
    assert refused.value.response.status_code == 403

    allowed = Origin("http://localhost:8000")
    with connect(stack["a"].ws, subprotocols=protocols, origin=allowed) as ws:
        assert ws.subprotocol == "jwt"


def test_tokens_never_reach_the_server_logs(stack, people):
    a = stack["a"]
    start = a.log_size()
    token = people["owner_token"]

    with open_socket(a.ws, token, via="query"):
        pass
    with pytest.raises(ConnectionClosed):
        open_socket(a.ws, "bad.token.value", via="query")
    assert call("GET", f"{a.url}/api/categories/?token={token}")[0] == 200

    # uvicorn's own loggers go through Django's LOGGING (and its redacting filter).
    wait_for(
        lambda: a.log(start).count("token=[redacted]") >= 3,
        timeout=5,
        what="uvicorn to log the three requests",
    )
    logged = a.log(start)
    assert '"WebSocket /ws/orders/?token=[redacted]" [accepted]' in logged
    for secret in (token, "bad.token.value"):
        assert all(secret not in s.log() for s in stack.values())


# ---- a Redis outage ----------------------------------------------------------------------


@pytest.fixture
def throwaway_redis(logs: Path) -> Iterator[RedisServer]:
    server = RedisServer(logs).start()
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture
def outage_stack(
    django_db_setup: Any, logs: Path, throwaway_redis: RedisServer
) -> Iterator[dict[str, Service]]:
    env = stack_env(redis_url=throwaway_redis.url, OUTBOX_SWEEP_SECONDS="1")
    services = {
        "a": uvicorn("outage-uvicorn-a", env=env, logs=logs),
        "b": uvicorn("outage-uvicorn-b", env=env, logs=logs),
        "c": worker("outage-worker-c", env=env, logs=logs),
        "beat": beat("outage-beat", env=env, logs=logs),
    }
    try:
        for name in ("a", "b", "c"):
            services[name].start()
        yield services
    finally:
        for service in services.values():
            service.stop()


def test_with_redis_down_the_api_answers_and_events_arrive_after_it_is_back(
    throwaway_redis, outage_stack, people
):
    a, b, c = outage_stack["a"], outage_stack["b"], outage_stack["c"]
    order = new_order(customer=people["owner"])
    owner_token, staff_token = people["owner_token"], people["staff_token"]

    with open_socket(a.ws, owner_token) as ws:
        assert patch_status(b, order, "processing", staff_token)[0] == 200
        seen = next_event(ws)
    assert seen == message_of(latest_event(order))
    # The owner hears it from the first of the task's two sends: let the task finish (the staff
    # send, then marking it delivered) before Redis goes, or the sweep sends it again later.
    wait_delivered(latest_event(order))

    throwaway_redis.stop(signal.SIGKILL)

    code, body, patch_seconds = patch_status(b, order, "shipped", staff_token)
    assert (code, body["status"]) == (200, "shipped")
    assert patch_seconds < PROMPT_SECONDS
    order.refresh_from_db()
    missed = latest_event(order)
    assert (order.status, missed.new_status, missed.delivered_at) == ("shipped", "shipped", None)

    started = time.monotonic()
    code, products = call("GET", f"{b.url}/api/products/")
    catalog_seconds = time.monotonic() - started
    assert code == 200 and "items" in products
    assert catalog_seconds < PROMPT_SECONDS
    code, feed = call("GET", f"{a.url}/api/notifications/?after={seen['id']}", token=owner_token)
    assert (code, [e["id"] for e in feed["items"]]) == (200, [missed.pk])

    throwaway_redis.start()  # same port, empty: whatever was queued or joined is gone
    # A client reconnects; its server's channel layer must be usable again.
    reconnected = wait_for(
        lambda: _try_open_socket(a.ws, owner_token),
        timeout=START_SECONDS,
        what="a socket to reconnect to uvicorn A after Redis came back",
    )
    assert reconnected is not None
    with reconnected as ws:
        # Only now can the sweep send: the event would otherwise reach no one (the socket
        # learns of it from the catch-up feed in that case, checked above).
        outage_stack["beat"].start()
        assert next_event(ws, timeout=ARRIVE_SECONDS + 10) == message_of(missed)

    wait_delivered(missed)
    assert c.alive()
    print(
        f"with Redis down: PATCH {patch_seconds * 1000:.0f} ms, "
        f"GET /api/products/ {catalog_seconds * 1000:.0f} ms"
    )


def _try_open_socket(ws_url: str, token: str) -> ClientConnection | None:
    try:
        return open_socket(ws_url, token)
    except (OSError, ConnectionClosed, InvalidStatus, TimeoutError):
        return None
