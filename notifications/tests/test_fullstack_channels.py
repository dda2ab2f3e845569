"""Every channel across real processes: uvicorn, a Celery worker for events, a `notify` worker
for e-mail and webhooks, beat's sweep, a real SMTP server (aiosmtpd) and real HTTP receivers.

Webhook retries run on a compressed schedule (0.5 s steps) so a day's schedule fits a test;
the rules (what is retried, when an endpoint is disabled) are the production ones.
"""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from django.conf import settings
from standardwebhooks.webhooks import Webhook

from catalog.tests.conftest import new_product
from conftest import fullstack
from notifications.models import OrderEvent, WebhookAttempt, WebhookDelivery
from testkit.live import beat, call, stack_env, uvicorn, worker
from testkit.processes import Service, running, wait_for

from . import test_fullstack
from .receivers import Answer, Mailbox, WebhookReceiver, smtp_server, webhook_receiver
from .test_fullstack import next_event, open_socket

# The full-stack module's fixtures: its logs folder, users with tokens, logs on failure.
logs = test_fullstack.logs
people = test_fullstack.people
_logs_on_failure = test_fullstack._logs_on_failure
_stack_idle_at_teardown = test_fullstack._stack_idle_at_teardown

pytestmark = [fullstack, pytest.mark.django_db(transaction=True)]

ARRIVE_SECONDS = 20.0
DISABLE_AFTER = 6
STEPS = 7  # retry delays: 8 attempts a delivery


def notify_worker(name: str, *, env: dict[str, str], logs: Path) -> Service:
    service = worker(name, env=env, logs=logs, pool="threads")
    concurrency = service.argv.index("-c") + 1
    service.argv[concurrency] = "4"
    service.argv += ["-Q", "notify"]
    return service


@pytest.fixture(scope="module")
def mail(django_db_setup: Any) -> Iterator[tuple[Mailbox, int]]:
    with smtp_server() as found:
        yield found


@pytest.fixture(scope="module")
def channels(
    django_db_setup: Any, logs: Path, mail: tuple[Mailbox, int]
) -> Iterator[dict[str, Service]]:
    env = stack_env(
        WEBHOOK_ALLOW_PRIVATE_URLS="1",
        WEBHOOK_RETRY_SCHEDULE=",".join(["0.5"] * STEPS),
        WEBHOOK_DISABLE_AFTER=str(DISABLE_AFTER),
        WEBHOOK_TIMEOUT_SECONDS="2",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=str(mail[1]),
        DEFAULT_FROM_EMAIL="shop@example.com",
        OUTBOX_SWEEP_SECONDS="1",
        NOTIFY_SWEEP_GRACE_SECONDS="1",
        NOTIFY_LEASE_SECONDS="4",
    )
    # Tasks other tests queued for a notify worker they never ran are for rows long gone.
    redis.Redis.from_url(settings.CELERY_BROKER_URL).delete("notify")
    services = {
        "web": uvicorn("channels-web", env=env, logs=logs),
        "events": worker("channels-events", env=env, logs=logs),
        "notify": notify_worker("channels-notify", env=env, logs=logs),
        "beat": beat("channels-beat", env=env, logs=logs),
    }
    with running(services):
        yield services


def register(web: Service, token: str, url: str) -> dict[str, Any]:
    body = {"url": url, "events": ["order.created", "order.status_changed"], "description": "t"}
    code, endpoint = call("POST", f"{web.url}/api/webhooks/", token=token, body=body)
    assert code == 201, endpoint
    return endpoint


def checkout(web: Service, token: str) -> dict[str, Any]:
    product = new_product(stock=50)
    body = {"items": [{"product_id": product.pk, "quantity": 2}]}
    code, order = call("POST", f"{web.url}/api/orders/", token=token, body=body)
    assert code == 201, order
    return order


def verified(receiver: WebhookReceiver, secret: str) -> list[tuple[str, dict[str, Any]]]:
    """(webhook-id, body) of every request, each checked with the standardwebhooks package."""
    return [
        (r.headers["webhook-id"], Webhook(secret).verify(r.body, r.headers))
        for r in receiver.requests()
    ]


def test_a_checkout_reaches_the_staff_socket_the_mailbox_and_a_verified_webhook(
    channels, people, mail
):
    web, mailbox = channels["web"], mail[0]
    with webhook_receiver() as receiver:
        endpoint = register(web, people["staff_token"], receiver.url)
        assert endpoint["secret"].startswith("whsec_")
        with (
            open_socket(web.ws, people["staff_token"]) as staff,
            open_socket(web.ws, people["owner_token"]) as other_tab,
            open_socket(web.ws, people["stranger_token"]) as stranger,
        ):
            order = checkout(web, people["owner_token"])
            event = OrderEvent.objects.get(order_id=order["id"])
            expected = {
                "id": event.pk,
                "type": "order.created",
                "order_id": order["id"],
                "old_status": "",
                "new_status": "pending",
                "changed_at": event.changed_at.isoformat(),
            }
            assert next_event(staff) == expected
            assert next_event(other_tab) == expected
            with pytest.raises(TimeoutError):
                stranger.recv(timeout=0.5)

        wait_for(lambda: receiver.requests(), timeout=ARRIVE_SECONDS, what="the webhook")
        wait_for(lambda: mailbox.messages, timeout=ARRIVE_SECONDS, what="the e-mail")

    ((webhook_id, body),) = verified(receiver, endpoint["secret"])
    assert webhook_id == str(event.uid)
    assert body["type"] == "order.created"
    assert body["data"]["order_id"] == order["id"]
    assert body["data"]["lines"][0]["quantity"] == 2
    assert body["data"]["total"] == order["total"]
    (message,) = mailbox.messages
    assert message["To"] == people["owner"].email
    assert message["Subject"] == f"Order #{order['id']} received"
    mailbox.messages.clear()


def test_a_receiver_down_then_back_gets_every_event_with_the_same_webhook_id(channels, people):
    web = channels["web"]
    receiver = WebhookReceiver()
    port = receiver.server.server_address[1]
    receiver.stop()  # down: connections are refused
    endpoint = register(web, people["staff_token"], receiver.url)
    order = checkout(web, people["owner_token"])
    code, _ = call(
        "PATCH",
        f"{web.url}/api/orders/{order['id']}/",
        token=people["staff_token"],
        body={"status": "processing"},
    )
    assert code == 200
    wait_for(
        lambda: WebhookDelivery.objects.filter(attempts__gte=1, last_error__gt="").count() == 2,
        timeout=ARRIVE_SECONDS,
        what="both deliveries to fail once",
    )

    back = _receiver_on(port)
    try:
        wait_for(
            lambda: WebhookDelivery.objects.filter(status="succeeded").count() == 2,
            timeout=ARRIVE_SECONDS,
            what="both deliveries to succeed",
        )
    finally:
        back.stop()

    events = OrderEvent.objects.filter(order_id=order["id"]).order_by("id")
    got = verified(back, endpoint["secret"])
    assert sorted(i for i, _ in got) == sorted(str(e.uid) for e in events)
    assert {b["type"] for _, b in got} == {"order.created", "order.status_changed"}
    for delivery in WebhookDelivery.objects.all():
        assert delivery.attempts >= 2  # delivered by a retry
        assert WebhookAttempt.objects.filter(delivery=delivery, status_code=None).exists()


def _receiver_on(port: int) -> WebhookReceiver:
    """A receiver on the port an earlier one used (the endpoint's URL stays the same)."""
    deadline = time.monotonic() + 10
    while True:
        try:
            receiver = WebhookReceiver(port=port)
            return receiver.start()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def test_a_400_is_not_retried(channels, people):
    web = channels["web"]
    with webhook_receiver(lambda r: Answer(400)) as receiver:
        register(web, people["staff_token"], receiver.url)
        checkout(web, people["owner_token"])
        wait_for(
            lambda: WebhookDelivery.objects.filter(status="failed").exists(),
            timeout=ARRIVE_SECONDS,
            what="the delivery to fail",
        )
        time.sleep(2.0)  # four retry steps: nothing may come
        assert len(receiver.requests()) == 1
    assert WebhookDelivery.objects.get().attempts == 1


def test_an_always_failing_endpoint_is_disabled_after_the_count(channels, people):
    web, staff_token = channels["web"], people["staff_token"]
    with webhook_receiver(lambda r: Answer(500)) as receiver:
        endpoint = register(web, staff_token, receiver.url)
        checkout(web, people["owner_token"])

        def disabled() -> bool:
            code, body = call("GET", f"{web.url}/api/webhooks/{endpoint['id']}/", token=staff_token)
            return code == 200 and body["is_active"] is False

        wait_for(disabled, timeout=ARRIVE_SECONDS, what="the endpoint to be disabled")
        time.sleep(1.5)  # three retry steps: a disabled endpoint gets nothing more
        assert len(receiver.requests()) == DISABLE_AFTER

    _, body = call("GET", f"{web.url}/api/webhooks/{endpoint['id']}/", token=staff_token)
    assert body["disabled_reason"].startswith(f"Disabled after {DISABLE_AFTER} consecutive")
    assert body["consecutive_failures"] == DISABLE_AFTER
    (delivery,) = WebhookDelivery.objects.all()
    assert (delivery.status, delivery.attempts) == ("pending", DISABLE_AFTER)


def test_an_ssrf_url_is_refused_by_the_real_server(channels, people, logs):
    """The channels stack allows private URLs (its receivers are local); a second server with
    the production default refuses them."""
    strict = uvicorn("channels-strict-web", env=stack_env(), logs=logs).start()
    try:
        for url in ("http://127.0.0.1:9/hook", "http://169.254.169.254/latest/meta-data/"):
            body = {"url": url, "events": ["order.created"]}
            code, answer = call(
                "POST", f"{strict.url}/api/webhooks/", token=people["staff_token"], body=body
            )
            assert (code, answer["code"]) == (422, "webhook_url_refused")
    finally:
        strict.stop()


def test_a_notify_worker_killed_mid_delivery_loses_nothing(channels, people):
    """SIGKILL while a webhook request is in flight: the delivery's lease runs out, the sweep
    queues it again and a new worker delivers it, with the same webhook-id."""
    web = channels["web"]
    answers = iter([Answer(200, delay=30.0)])
    with webhook_receiver(lambda r: next(answers, Answer(200))) as receiver:
        endpoint = register(web, people["staff_token"], receiver.url)
        checkout(web, people["owner_token"])
        wait_for(lambda: receiver.requests(), timeout=ARRIVE_SECONDS, what="the first request")
        channels["notify"].stop(signal.SIGKILL)
        channels["notify"].start()
        wait_for(
            lambda: WebhookDelivery.objects.filter(status="succeeded").exists(),
            timeout=ARRIVE_SECONDS,
            what="the delivery to be re-sent",
        )
        ids = [i for i, _ in verified(receiver, endpoint["secret"])]
    assert len(ids) == 2 and len(set(ids)) == 1
    assert json.loads(receiver.requests()[1].body)["type"] == "order.created"
