"""Outbox delivery without HTTP: pushing events once, and the sweep that re-sends lost ones."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
import redis
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from django.core.cache import cache
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from accounts.tests.factories import StaffFactory, UserFactory
from conftest import fullstack
from notifications import services, tasks
from notifications.groups import STAFF_GROUP, user_group
from notifications.models import EmailDelivery, OrderEvent

from .factories import change_status, message_of, new_order

# Not transactional: commit hooks never fire, so only the deliveries a test runs itself happen.
# The channel layer is the configured one: in memory, or Redis when REDIS_URL is set.
pytestmark = pytest.mark.django_db


class Listener:
    """A channel in the given groups of the configured layer, as a consumer would be."""

    def __init__(self, *groups: str):
        self.groups = groups
        self.layer: Any = get_channel_layer()
        self.channel = ""

    async def __aenter__(self) -> Listener:
        self.channel = await self.layer.new_channel()
        for group in self.groups:
            await self.layer.group_add(group, self.channel)
        return self

    async def __aexit__(self, *exc: object) -> None:
        for group in self.groups:
            await self.layer.group_discard(group, self.channel)

    async def next(self, timeout: float = 2) -> dict[str, Any]:
        return await asyncio.wait_for(self.layer.receive(self.channel), timeout)

    async def hears_nothing(self, timeout: float = 0.3) -> bool:
        try:
            message = await asyncio.wait_for(self.layer.receive(self.channel), timeout)
        except TimeoutError:
            return True
        raise AssertionError(f"unexpected message {message!r}")


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    async_to_sync(scenario)()


def wire(event: OrderEvent) -> dict[str, Any]:
    return {"type": "order.event", "event": message_of(event)}


deliver = sync_to_async(services.events_deliver)
sweep = sync_to_async(lambda: tasks.sweep_order_events.apply().get())


@pytest.fixture
def event(customer, staff) -> OrderEvent:
    return change_status(order=new_order(customer=customer), status="shipped", by=staff)


def test_order_status_change_writes_one_undelivered_event(customer, staff):
    order = new_order(customer=customer)

    event = change_status(order=order, status="processing", by=staff)

    assert list(OrderEvent.objects.order_by("id").values_list("type", flat=True)) == [
        "order.created",
        "order.status_changed",
    ]
    assert (event.recipient_id, event.old_status, event.new_status) == (
        customer.pk,
        "pending",
        "processing",
    )
    assert (event.delivered_at, event.attempts) == (None, 0)
    assert message_of(event) == event.message()


def test_deliver_sends_to_owner_and_staff_once(customer, event):
    async def scenario() -> None:
        async with Listener(user_group(customer.pk)) as owner, Listener(STAFF_GROUP) as staff:
            assert await deliver(event_ids=[event.pk]) == 1
            assert await owner.next() == wire(event)
            assert await staff.next() == wire(event)

            assert await deliver(event_ids=[event.pk]) == 0
            assert await owner.hears_nothing()
            assert await staff.hears_nothing()

    run(scenario)
    event.refresh_from_db()
    assert event.delivered_at is not None
    assert event.attempts == 1


def test_deliver_task_pushes_every_event_due_once_and_is_safe_to_run_twice(customer, event):
    placed = OrderEvent.objects.get(order=event.order, type="order.created")

    async def scenario() -> None:
        async with Listener(user_group(customer.pk)) as owner:
            run_task = sync_to_async(lambda: tasks.deliver_order_event.apply((event.pk,)).get())
            assert await run_task() == 2  # the order's order.created too, oldest first
            assert await run_task() == 0
            assert await owner.next() == wire(placed)
            assert await owner.next() == wire(event)
            assert await owner.hears_nothing()

    run(scenario)


def _age(event: OrderEvent, by: timedelta) -> OrderEvent:
    OrderEvent.objects.filter(pk=event.pk).update(changed_at=timezone.now() - by)
    event.refresh_from_db()
    return event


def test_sweep_resends_old_undelivered_events_and_leaves_fresh_ones(customer, staff):
    lost = _age(
        change_status(order=new_order(customer=customer), status="processing", by=staff),
        services.SWEEP_GRACE + timedelta(seconds=1),
    )
    fresh = change_status(order=new_order(customer=customer), status="processing", by=staff)
    done = _age(
        change_status(order=new_order(customer=customer), status="processing", by=staff),
        timedelta(minutes=5),
    )
    services.events_deliver(event_ids=[done.pk])

    assert services.events_pending() == [lost.pk]

    async def scenario() -> None:
        async with Listener(user_group(customer.pk)) as owner:
            assert (await sweep())["pushed"] == 1
            assert await owner.next() == wire(lost)
            assert await owner.hears_nothing()
            assert (await sweep())["pushed"] == 0
            assert await owner.hears_nothing()

    run(scenario)
    fresh.refresh_from_db()
    assert fresh.delivered_at is None  # left to the task sent when it committed
    assert services.events_pending() == []
    placed = sorted(e.pk for e in OrderEvent.objects.filter(type="order.created"))
    assert services.events_pending(grace=timedelta(0)) == sorted([*placed, fresh.pk])


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_undeliverable_event_stays_pending_and_the_error_reaches_the_task(event):
    dead = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [f"redis://127.0.0.1:{_closed_port()}/0"]},
        }
    }
    _age(event, services.SWEEP_GRACE + timedelta(seconds=1))

    # The exception must be one the task retries on (with backoff).
    with override_settings(CHANNEL_LAYERS=dead), pytest.raises(tasks.RETRYABLE):
        services.events_deliver(event_ids=[event.pk])

    event.refresh_from_db()
    assert (event.delivered_at, event.attempts) == (None, 1)
    assert services.events_pending() == [event.pk]  # the sweep will try again


def test_deliveries_in_one_process_share_one_sender_loop(customer, staff):
    """Every send runs on the same long-lived loop: its Redis connections are kept."""
    sender = services._SenderLoop()
    loops: list[asyncio.AbstractEventLoop] = []

    async def note_loop() -> None:
        loops.append(asyncio.get_running_loop())

    for _ in range(3):
        sender.run(note_loop)

    assert len(loops) == 3
    assert loops[0] is loops[1] is loops[2]
    assert loops[0].is_running()


def test_a_send_that_hangs_times_out_with_an_error_the_task_retries(monkeypatch):
    sender = services._SenderLoop()
    monkeypatch.setattr(sender, "SEND_TIMEOUT", 0.2)
    cancelled = threading.Event()

    async def hang() -> None:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    with pytest.raises(tasks.RETRYABLE):
        sender.run(hang)
    assert cancelled.wait(timeout=2)  # and the hung send was cancelled on its loop


def test_an_event_that_always_fails_is_dead_after_the_cap_and_left_by_the_sweep(
    customer, event, settings
):
    settings.NOTIFY_SOCKET_MAX_ATTEMPTS = 3
    OrderEvent.objects.filter(pk=event.pk).update(attempts=3)
    _age(event, services.SWEEP_GRACE + timedelta(seconds=1))

    assert services.events_deliver(event_ids=[event.pk]) == 0

    event.refresh_from_db()
    assert (event.delivered_at, event.attempts) == (None, 3)
    assert event.dead_at is not None
    assert event.pk not in services.events_pending()
    assert services.events_deliver(event_ids=[event.pk]) == 0


def test_the_sweep_fans_out_and_requeues_overdue_deliveries(customer, event, settings):
    from notifications.models import EmailDelivery

    settings.NOTIFY_SWEEP_GRACE_SECONDS = 30
    _age(event, services.SWEEP_GRACE + timedelta(seconds=1))
    assert event.pk in services.events_not_fanned_out()

    assert services.events_fan_out(event_ids=[event.pk]) == 1
    assert services.events_fan_out(event_ids=[event.pk]) == 0  # twice writes nothing twice
    delivery = EmailDelivery.objects.get(event=event)
    assert services.deliveries_overdue() == ([], [])  # fresh: left to its own task
    EmailDelivery.objects.filter(pk=delivery.pk).update(
        next_attempt_at=timezone.now() - timedelta(seconds=31)
    )
    assert services.deliveries_overdue() == ([delivery.pk], [])
    EmailDelivery.objects.filter(pk=delivery.pk).update(status="dead")
    assert services.deliveries_overdue() == ([], [])  # dead: never retried by the sweep


@fullstack
def test_commits_queue_one_dispatch_until_a_worker_takes_it(settings):
    """Under load one task pushes every event committed while it waited in the queue."""
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    queue = tasks.deliver_order_event.app.conf.task_default_queue
    broker.delete(queue)
    cache.delete(services.DISPATCH_QUEUED_KEY)
    try:
        services.dispatch_request(1)
        services.dispatch_request(2)  # a dispatch is queued and has not started: it finds 2
        assert broker.llen(queue) == 1

        assert services.event_process(event_id=1) == 0  # a worker starts it: nothing is due
        services.dispatch_request(3)  # committed after the dispatch started: queue another
        assert broker.llen(queue) == 2
    finally:
        broker.delete(queue)
        cache.delete(services.DISPATCH_QUEUED_KEY)


@fullstack
@pytest.mark.django_db(transaction=True)
def test_racing_dispatches_sweeps_and_changes_push_and_fan_out_every_event_once():
    """Real threads on PostgreSQL: three dispatch tasks, the sweep's two passes and staff
    changing statuses all write the same outbox rows at once."""
    customer, staff = UserFactory(), StaffFactory()
    orders = [new_order(customer=customer) for _ in range(20)]
    start = threading.Barrier(6)
    errors: list[BaseException] = []

    def racer(work: Callable[[], object]) -> threading.Thread:
        def run() -> None:
            try:
                start.wait(timeout=10)
                for _ in range(5):
                    work()
            except BaseException as exc:
                errors.append(exc)
            finally:
                connection.close()

        return threading.Thread(target=run)

    def every_id() -> list[int]:
        return list(OrderEvent.objects.values_list("pk", flat=True))

    def changes() -> None:
        for order in orders:
            order.refresh_from_db()
            if order.status == "pending":
                change_status(order=order, status="processing", by=staff)

    threads = [
        *(racer(lambda: services.event_process(event_id=0)) for _ in range(3)),
        racer(lambda: services.events_deliver(event_ids=every_id())),
        racer(lambda: services.events_fan_out(event_ids=every_id())),
        racer(changes),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    services.event_process(event_id=0)  # what committed after the racers' last rounds

    assert errors == []
    events = list(OrderEvent.objects.order_by("pk"))
    assert len(events) == 40  # 20 placed, 20 changed
    assert all(e.delivered_at and e.fanned_out_at and not e.dead_at for e in events)
    assert {e.attempts for e in events} == {1}  # each pushed exactly once
    assert sorted(EmailDelivery.objects.values_list("event_id", flat=True)) == [
        e.pk for e in events
    ]
    cache.delete(services.DISPATCH_QUEUED_KEY)
