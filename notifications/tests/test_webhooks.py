"""Webhook endpoints (staff API, SSRF refusal) and single deliveries to a real HTTP receiver.

Not transactional: commit hooks never fire, so a test runs each delivery itself, in process;
the full stack (worker, beat, retries on their schedule) is in test_fullstack_channels.py.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from conftest import ApiClient
from notifications import services, webhooks
from notifications.models import OrderEvent, WebhookAttempt, WebhookDelivery, WebhookEndpoint

from .factories import change_status, new_order, placed_event
from .receivers import Answer, webhook_receiver

pytestmark = pytest.mark.django_db

URL = "/api/webhooks/"
BODY = {
    "url": "https://93.184.215.14/hooks",  # a public address: accepted without DNS
    "events": ["order.created", "order.status_changed"],
    "description": "ERP",
}


@pytest.fixture
def private_ok(settings: Any) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True


@pytest.fixture
def no_private(settings: Any) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False


def endpoint_body(endpoint: WebhookEndpoint) -> dict[str, Any]:
    endpoint.refresh_from_db()
    return {
        "id": endpoint.pk,
        "url": endpoint.url,
        "events": endpoint.events,
        "description": endpoint.description,
        "is_active": endpoint.is_active,
        "consecutive_failures": endpoint.consecutive_failures,
        "disabled_at": None if endpoint.disabled_at is None else endpoint.disabled_at.isoformat(),
        "disabled_reason": endpoint.disabled_reason,
        "created_at": endpoint.created_at.isoformat().replace("+00:00", "Z"),
        "updated_at": endpoint.updated_at.isoformat().replace("+00:00", "Z"),
    }


def _ms(body: dict[str, Any]) -> dict[str, Any]:
    """Ninja renders datetimes with milliseconds; compare on the second."""
    return {k: (v[:19] if k.endswith("_at") and isinstance(v, str) else v) for k, v in body.items()}


# ---- the staff API ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "status"), [("anon", 401), ("customer_api", 403), ("staff_api", 201)]
)
def test_only_staff_register_endpoints(request, no_private, who, status):
    client: ApiClient = request.getfixturevalue(who)

    response = client.post(URL, BODY)

    assert response.status_code == status
    assert WebhookEndpoint.objects.count() == (1 if status == 201 else 0)


def test_create_returns_the_secret_once(staff_api, no_private):
    response = staff_api.post(URL, BODY)

    assert response.status_code == 201
    body = response.json()
    endpoint = WebhookEndpoint.objects.get()
    assert body["secret"] == endpoint.secret
    assert endpoint.secret.startswith("whsec_")
    Webhook(endpoint.secret)  # a secret the standard library accepts
    assert _ms({k: v for k, v in body.items() if k != "secret"}) == _ms(endpoint_body(endpoint))
    listed = staff_api.get(URL).json()
    assert listed["count"] == 1 and "secret" not in listed["items"][0]
    assert "secret" not in staff_api.get(f"{URL}{endpoint.pk}/").json()


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://localhost:8000/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://0.0.0.0/hook",
        "ftp://93.184.215.14/hook",
        "http://no-such-host.invalid/hook",
        "http://[::1/hook",
        "http://a:99999/hook",
    ],
)
def test_ssrf_urls_are_refused_at_registration(staff_api, no_private, url):
    response = staff_api.post(URL, dict(BODY, url=url))

    assert response.status_code == 422
    assert response.json()["code"] == "webhook_url_refused"
    assert WebhookEndpoint.objects.count() == 0


def test_private_urls_are_accepted_when_allowed(staff_api, private_ok):
    assert staff_api.post(URL, dict(BODY, url="http://127.0.0.1:9/hook")).status_code == 201


def test_unknown_events_are_a_422(staff_api, no_private):
    response = staff_api.post(URL, dict(BODY, events=["order.deleted"]))

    assert response.status_code == 422
    assert WebhookEndpoint.objects.count() == 0


def test_patch_and_delete(staff_api, customer_api, no_private):
    pk = staff_api.post(URL, BODY).json()["id"]

    assert customer_api.patch(f"{URL}{pk}/", {"description": "x"}).status_code == 403
    response = staff_api.patch(
        f"{URL}{pk}/", {"description": "Shipping", "events": ["order.created"]}
    )
    assert response.status_code == 200
    endpoint = WebhookEndpoint.objects.get()
    assert (endpoint.description, endpoint.events) == ("Shipping", ["order.created"])
    assert staff_api.patch(f"{URL}{pk}/", {"url": "http://10.0.0.1/"}).status_code == 422
    endpoint.refresh_from_db()
    assert endpoint.url == BODY["url"]

    assert staff_api.delete(f"{URL}{pk}/").status_code == 204
    assert WebhookEndpoint.objects.count() == 0
    assert staff_api.delete(f"{URL}{pk}/").status_code == 404
    assert staff_api.get(f"{URL}{pk}/deliveries/").status_code == 404


# ---- deliveries -----------------------------------------------------------------------------


def subscribed(
    url: str, *, events: tuple[str, ...] = ("order.created", "order.status_changed")
) -> WebhookEndpoint:
    return webhooks.webhook_endpoint_create(url=url, events=list(events))


def fan_out(event: OrderEvent) -> WebhookDelivery:
    services.events_fan_out(event_ids=[event.pk])
    return WebhookDelivery.objects.get(event=event)


def test_a_delivery_is_signed_per_standard_webhooks(customer, private_ok):
    with webhook_receiver() as receiver:
        endpoint = subscribed(receiver.url)
        event = placed_event(new_order(customer=customer))
        delivery = fan_out(event)

        assert webhooks.webhook_deliver(delivery_id=delivery.pk) == "succeeded"

    (request,) = receiver.requests()
    payload = Webhook(endpoint.secret).verify(request.body, request.headers)
    assert request.headers["webhook-id"] == str(event.uid)
    assert payload == {
        "type": "order.created",
        "timestamp": event.changed_at.isoformat(),
        "data": event.payload,
    }
    assert payload["data"]["lines"][0]["quantity"] == 1
    assert payload["data"]["status_before"] is None and payload["data"]["version"] == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("succeeded", 1, 200)
    assert webhooks.webhook_deliver(delivery_id=delivery.pk) == "not due"  # never twice


def test_only_subscribed_events_are_delivered(customer, staff, private_ok):
    subscribed("http://127.0.0.1:9/", events=("order.status_changed",))
    order = new_order(customer=customer)
    changed = change_status(order=order, status="processing", by=staff)

    services.events_fan_out(event_ids=[placed_event(order).pk, changed.pk])

    assert list(WebhookDelivery.objects.values_list("event_id", flat=True)) == [changed.pk]


def test_a_400_fails_at_once(customer, private_ok):
    with webhook_receiver(lambda r: Answer(400)) as receiver:
        subscribed(receiver.url)
        delivery = fan_out(placed_event(new_order(customer=customer)))

        assert webhooks.webhook_deliver(delivery_id=delivery.pk) == "failed"
        assert webhooks.webhook_deliver(delivery_id=delivery.pk) == "not due"

    assert len(receiver.requests()) == 1
    attempt = WebhookAttempt.objects.get()
    assert (attempt.number, attempt.status_code, attempt.response_body) == (1, 400, "ok")


@pytest.mark.parametrize("status", [500, 503, 408, 429])
def test_retryable_answers_are_scheduled_again(customer, private_ok, settings, status):
    settings.WEBHOOK_RETRY_SCHEDULE = [60.0, 600.0]
    with webhook_receiver(lambda r: Answer(status)) as receiver:
        subscribed(receiver.url)
        delivery = fan_out(placed_event(new_order(customer=customer)))
        before = timezone.now()

        assert webhooks.webhook_deliver(delivery_id=delivery.pk) == "pending"

    delivery.refresh_from_db()
    assert delivery.attempts == 1
    assert before + timedelta(seconds=47) < delivery.next_attempt_at
    assert delivery.next_attempt_at < before + timedelta(seconds=73)


def test_retry_after_is_honoured(customer, private_ok, settings):
    settings.WEBHOOK_RETRY_SCHEDULE = [1.0]
    with webhook_receiver(lambda r: Answer(429, {"Retry-After": "120"})) as receiver:
        subscribed(receiver.url)
        delivery = fan_out(placed_event(new_order(customer=customer)))
        before = timezone.now()
        webhooks.webhook_deliver(delivery_id=delivery.pk)

    delivery.refresh_from_db()
    assert delivery.next_attempt_at >= before + timedelta(seconds=120)


def test_the_last_attempt_of_the_schedule_makes_it_dead(customer, private_ok, settings):
    settings.WEBHOOK_RETRY_SCHEDULE = [0.0, 0.0]
    with webhook_receiver(lambda r: Answer(502)) as receiver:
        subscribed(receiver.url)
        delivery = fan_out(placed_event(new_order(customer=customer)))
        results = [webhooks.webhook_deliver(delivery_id=delivery.pk) for _ in range(4)]

    assert results == ["pending", "pending", "dead", "not due"]
    assert len(receiver.requests()) == 3
    assert {r.headers["webhook-id"] for r in receiver.requests()} == {str(delivery.event.uid)}


def test_a_timeout_is_retried(customer, private_ok, settings):
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.3
    with webhook_receiver(lambda r: Answer(200, delay=1.0)) as receiver:
        subscribed(receiver.url)
        delivery = fan_out(placed_event(new_order(customer=customer)))
        assert webhooks.webhook_deliver(delivery_id=delivery.pk) == "pending"

    delivery.refresh_from_db()
    assert delivery.last_error == "timed out"


def test_a_private_url_is_refused_at_delivery(customer, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True
    with webhook_receiver() as receiver:
        subscribed(receiver.url)  # registered while private URLs were allowed
        settings.WEBHOOK_ALLOW_PRIVATE_URLS = False
        delivery = fan_out(placed_event(new_order(customer=customer)))

        assert webhooks.webhook_deliver(delivery_id=delivery.pk) == "failed"

    assert receiver.requests() == []
    delivery.refresh_from_db()
    assert delivery.last_error.startswith("refused: The host '127.0.0.1' resolves to a loopback")


def test_consecutive_failures_disable_the_endpoint_and_re_enabling_resends(
    customer, staff, staff_api, private_ok, settings
):
    settings.WEBHOOK_DISABLE_AFTER = 3
    settings.WEBHOOK_RETRY_SCHEDULE = [0.0] * 5
    answers = {"status": 500}
    with webhook_receiver(lambda r: Answer(answers["status"])) as receiver:
        endpoint = subscribed(receiver.url)
        order = new_order(customer=customer)
        delivery = fan_out(placed_event(order))
        for _ in range(3):
            webhooks.webhook_deliver(delivery_id=delivery.pk)
        endpoint.refresh_from_db()
        assert endpoint.is_active is False
        assert endpoint.disabled_reason.startswith("Disabled after 3 consecutive failed attempts")
        assert webhooks.webhook_deliver(delivery_id=delivery.pk) == "not due"
        # An event while disabled gets no delivery...
        missed = change_status(order=order, status="processing", by=staff)
        services.events_fan_out(event_ids=[missed.pk])
        assert WebhookDelivery.objects.count() == 1

        # ...until staff re-enable the endpoint: both are sent again.
        answers["status"] = 200
        response = staff_api.patch(f"{URL}{endpoint.pk}/", {"is_active": True})
        assert response.status_code == 200
        assert response.json()["consecutive_failures"] == 0
        for pending in WebhookDelivery.objects.order_by("event_id"):
            assert webhooks.webhook_deliver(delivery_id=pending.pk) == "succeeded"

    ids = [r.headers["webhook-id"] for r in receiver.requests()]
    assert ids == [str(delivery.event.uid)] * 3 + [str(delivery.event.uid), str(missed.uid)]


def test_the_delivery_log_and_a_manual_retry(customer, staff_api, private_ok):
    with webhook_receiver(lambda r: Answer(400)) as receiver:
        endpoint = subscribed(receiver.url)
        delivery = fan_out(placed_event(new_order(customer=customer)))
        webhooks.webhook_deliver(delivery_id=delivery.pk)

        log = staff_api.get(f"{URL}{endpoint.pk}/deliveries/", status="failed").json()
        assert log["count"] == 1
        (item,) = log["items"]
        assert {k: item[k] for k in ("id", "event_id", "event_type", "status", "attempts")} == {
            "id": delivery.pk,
            "event_id": str(delivery.event.uid),
            "event_type": "order.created",
            "status": "failed",
            "attempts": 1,
        }
        assert [(a["number"], a["status_code"], a["response_body"]) for a in item["log"]] == [
            (1, 400, "ok")
        ]
        assert staff_api.get(f"{URL}{endpoint.pk}/deliveries/", status="dead").json()["count"] == 0

        retried = staff_api.post(f"{URL}{endpoint.pk}/deliveries/{delivery.pk}/retry/")
        assert retried.status_code == 202
        assert (retried.json()["status"], retried.json()["attempts"]) == ("pending", 0)
        receiver.answer = lambda r: Answer(204)
        assert webhooks.webhook_deliver(delivery_id=delivery.pk) == "succeeded"

    assert [r.headers["webhook-id"] for r in receiver.requests()] == [str(delivery.event.uid)] * 2
    assert staff_api.post(f"{URL}{endpoint.pk}/deliveries/999999/retry/").status_code == 404


def test_the_payload_of_a_status_change(customer, staff, private_ok):
    order = new_order(customer=customer)
    event = change_status(order=order, status="shipped", by=staff)

    assert event.payload == {
        "version": 1,
        "order_id": order.pk,
        "customer_id": customer.pk,
        "status_before": "pending",
        "status_after": "shipped",
        "total": str(order.total),
        "occurred_at": event.changed_at.isoformat(),
    }
    assert json.loads(json.dumps(event.webhook_body()))["type"] == "order.status_changed"


def test_a_host_that_does_not_resolve_is_retried(customer, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False
    endpoint = subscribed("https://93.184.215.14/hook")
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(url="https://no-such-host.invalid/")
    delivery = fan_out(placed_event(new_order(customer=customer)))

    assert webhooks.webhook_deliver(delivery_id=delivery.pk) == "pending"

    delivery.refresh_from_db()
    assert delivery.last_error == "refused: The host 'no-such-host.invalid' does not resolve."


def test_dead_deliveries_of_every_channel_are_listed_for_staff(
    customer, staff_api, customer_api, private_ok, settings
):
    from notifications.models import EmailDelivery

    settings.WEBHOOK_RETRY_SCHEDULE = []
    event = placed_event(new_order(customer=customer))
    with webhook_receiver(lambda r: Answer(500)) as receiver:
        subscribed(receiver.url)
        delivery = fan_out(event)
        assert webhooks.webhook_deliver(delivery_id=delivery.pk) == "dead"
    email = EmailDelivery.objects.get(event=event)
    EmailDelivery.objects.filter(pk=email.pk).update(
        status="dead",
        attempts=6,
        last_error="SMTPServerDisconnected: x",
        completed_at=timezone.now(),
    )
    OrderEvent.objects.filter(pk=event.pk).update(dead_at=timezone.now(), attempts=10)

    listed = {
        channel: staff_api.get("/api/notifications/dead/", channel=channel).json()["items"]
        for channel in ("socket", "email", "webhook")
    }

    common = {"event_id": str(event.uid), "event_type": "order.created", "order_id": event.order_id}
    assert [
        {k: i[k] for k in (*common, "channel", "id", "target", "attempts")}
        for i in listed["socket"]
    ] == [dict(common, channel="socket", id=event.pk, target="sockets", attempts=10)]
    assert [(i["channel"], i["id"], i["target"], i["last_error"]) for i in listed["email"]] == [
        ("email", email.pk, customer.email, "SMTPServerDisconnected: x")
    ]
    assert [(i["channel"], i["id"], i["target"], i["attempts"]) for i in listed["webhook"]] == [
        ("webhook", delivery.pk, receiver.url, 1)
    ]
    assert all(i["dead_at"] for items in listed.values() for i in items)
    assert customer_api.get("/api/notifications/dead/").status_code == 403


def test_one_batch_sends_every_due_delivery_of_its_endpoint_once(customer, staff, private_ok):
    with webhook_receiver() as receiver, webhook_receiver() as other:
        endpoint = subscribed(receiver.url)
        elsewhere = subscribed(other.url)
        order = new_order(customer=customer)
        events = [placed_event(order), change_status(order=order, status="processing", by=staff)]
        services.events_fan_out(event_ids=[e.pk for e in events])

        assert webhooks.webhooks_send_due(endpoint_id=endpoint.pk) == 2
        assert webhooks.webhooks_send_due(endpoint_id=endpoint.pk) == 0  # nothing twice

    assert [r.headers["webhook-id"] for r in receiver.requests()] == [str(e.uid) for e in events]
    assert other.requests() == []  # another endpoint's batch is its own
    assert (
        list(WebhookDelivery.objects.filter(endpoint=endpoint).values_list("status", "attempts"))
        == [("succeeded", 1)] * 2
    )
    assert (
        list(WebhookDelivery.objects.filter(endpoint=elsewhere).values_list("status", "attempts"))
        == [("pending", 0)] * 2
    )


def test_a_batch_stops_when_its_endpoint_is_disabled_and_leaves_the_rest_unattempted(
    customer, staff, private_ok, settings
):
    settings.WEBHOOK_DISABLE_AFTER = 1
    with webhook_receiver(lambda r: Answer(500)) as receiver:
        endpoint = subscribed(receiver.url)
        order = new_order(customer=customer)
        events = [placed_event(order), change_status(order=order, status="processing", by=staff)]
        services.events_fan_out(event_ids=[e.pk for e in events])

        assert webhooks.webhooks_send_due(endpoint_id=endpoint.pk) == 1

    assert len(receiver.requests()) == 1
    endpoint.refresh_from_db()
    assert endpoint.is_active is False
    first, second = WebhookDelivery.objects.filter(endpoint=endpoint).order_by("event_id")
    assert (first.status, first.attempts, first.last_status_code) == ("pending", 1, 500)
    assert (second.status, second.attempts, second.last_status_code) == ("pending", 0, None)
    assert second.next_attempt_at <= timezone.now()  # re-enabling sends it at once
