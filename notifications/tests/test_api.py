"""GET /api/notifications/: the catch-up feed a reconnecting client reads."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.serializers.json import DjangoJSONEncoder

from conftest import ApiClient, page_of
from notifications.models import OrderEvent

from .factories import change_status, message_of, new_order, placed_event

pytestmark = pytest.mark.django_db

URL = "/api/notifications/"


def page(events: list[OrderEvent], **pagination: Any) -> dict[str, Any]:
    """The API's rendering of these events: newest first, datetimes as ninja encodes them."""
    items = [
        dict(message_of(e), changed_at=json.loads(json.dumps(e.changed_at, cls=DjangoJSONEncoder)))
        for e in sorted(events, key=lambda e: e.pk, reverse=True)
    ]
    return page_of(items, **pagination)


@pytest.fixture
def history(customer, other_customer, staff) -> dict[str, list[OrderEvent]]:
    mine, theirs = new_order(customer=customer), new_order(customer=other_customer)
    return {
        "mine": [
            placed_event(mine),
            change_status(order=mine, status="processing", by=staff),
            change_status(order=mine, status="shipped", by=staff),
        ],
        "theirs": [
            placed_event(theirs),
            change_status(order=theirs, status="cancelled", by=other_customer),
        ],
    }


def test_anonymous_is_refused(anon, history):
    response = anon.get(URL)

    assert response.status_code == 401
    assert response.json() == {
        "detail": "Authentication credentials were not provided.",
        "code": "not_authenticated",
    }


def test_bad_token_is_refused(history):
    response = ApiClient("not-a-jwt").get(URL)

    assert response.status_code == 401
    assert response.json()["code"] == "token_invalid"


def test_customer_sees_only_its_own_events_newest_first(customer_api, history):
    response = customer_api.get(URL)

    assert response.status_code == 200
    assert (response.json()) == page(history["mine"])


def test_other_customer_sees_only_theirs(other_api, history):
    response = other_api.get(URL)

    assert response.status_code == 200
    assert (response.json()) == page(history["theirs"])


def test_staff_see_every_event(staff_api, history):
    response = staff_api.get(URL)

    assert response.status_code == 200
    assert (response.json()) == page(history["mine"] + history["theirs"])


def test_pages_are_bounded_and_continue_where_the_last_one_ended(customer_api, customer, staff):
    order = new_order(customer=customer)
    events = [placed_event(order)] + [
        change_status(order=order, status=status, by=staff)
        for status in ("processing", "shipped", "delivered")
    ]

    first = customer_api.get(URL, page_size=2)
    second = customer_api.get(URL, page_size=2, page=2)

    assert (first.status_code, second.status_code) == (200, 200)
    assert (first.json()) == page(
        events[2:], count=4, page_size=2, next=f"{URL}?page_size=2&page=2"
    )
    assert (second.json()) == page(
        events[:2], count=4, page=2, page_size=2, previous=f"{URL}?page_size=2&page=1"
    )


def test_a_client_that_missed_events_gets_exactly_those(customer_api, customer, staff, history):
    last_seen = history["mine"][-1].pk
    order = new_order(customer=customer)
    missed = [
        placed_event(order),
        change_status(order=order, status="processing", by=staff),
        change_status(order=order, status="cancelled", by=customer),
    ]
    new_order_of_someone_else = new_order(customer=staff)
    change_status(order=new_order_of_someone_else, status="processing", by=staff)

    response = customer_api.get(URL, after=last_seen)

    assert response.status_code == 200
    assert (response.json()) == page(missed)
    assert customer_api.get(URL, after=missed[-1].pk).json() == page([])


def test_staff_after_filter_covers_every_order(staff_api, history):
    first = min(e.pk for e in history["mine"] + history["theirs"])

    response = staff_api.get(URL, after=first)

    later = [e for e in history["mine"] + history["theirs"] if e.pk > first]
    assert response.status_code == 200
    assert (response.json()) == page(later)


@pytest.mark.parametrize("after", ["-1", "abc", str(2**63)])
def test_invalid_after_is_a_422(customer_api, history, after):
    response = customer_api.get(URL, after=after)

    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation_error"
    assert [problem["loc"][-1] for problem in body["detail"]] == ["after"]
