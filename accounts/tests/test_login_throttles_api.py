"""Throttling of sign-in, registration and refresh per address, forwarded headers ignored."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import override_settings

from accounts.models import User
from accounts.tests.conftest import (
    GOOD_PASSWORD,
    auth_snapshot,
    login,
    new_client_ip,
)
from accounts.tests.factories import PASSWORD
from conftest import ApiClient

# --- throttling ---------------------------------------------------------------------------


THROTTLED = {"detail": "Too many requests.", "code": "throttled"}


def _assert_throttled(response: Any) -> None:
    assert response.status_code == 429
    assert response.json() == THROTTLED
    # An integer number of seconds (RFC 9110), at most the rate's period.
    assert 1 <= int(response["Retry-After"]) <= 60


@pytest.mark.django_db
@pytest.mark.usefixtures("clear_of_a_minute_boundary")
@override_settings(AUTH_THROTTLE_RATE="3/min")
def test_the_fourth_login_from_one_address_is_throttled(customer: User, client_ip: str) -> None:
    client = ApiClient(REMOTE_ADDR=client_ip)
    assert (
        client.post("/api/token/", {"username": customer.username, "password": "x"}).status_code
        == 401
    )
    assert login(client, customer).status_code == 200
    assert login(client, customer).status_code == 200
    before = auth_snapshot()
    response = login(client, customer)
    _assert_throttled(response)
    assert auth_snapshot() == before  # no token was issued


@pytest.mark.django_db
@pytest.mark.usefixtures("clear_of_a_minute_boundary")
@override_settings(AUTH_THROTTLE_RATE="3/min")
def test_another_address_is_not_throttled(customer: User, client_ip: str) -> None:
    throttled = ApiClient(REMOTE_ADDR=client_ip)
    for _ in range(3):
        assert login(throttled, customer).status_code == 200
    _assert_throttled(login(throttled, customer))
    elsewhere = ApiClient(REMOTE_ADDR=new_client_ip())
    assert login(elsewhere, customer).status_code == 200


@pytest.mark.django_db
@pytest.mark.usefixtures("clear_of_a_minute_boundary")
@override_settings(AUTH_THROTTLE_RATE="3/min")
def test_a_forged_forwarded_for_header_does_not_escape_the_throttle(
    customer: User, client_ip: str
) -> None:
    client = ApiClient(REMOTE_ADDR=client_ip)
    for n in range(3):
        forged = {"X-Forwarded-For": f"192.0.2.{n + 1}"}
        response = client.post(
            "/api/token/", {"username": customer.username, "password": PASSWORD}, headers=forged
        )
        assert response.status_code == 200
    _assert_throttled(
        client.post(
            "/api/token/",
            {"username": customer.username, "password": PASSWORD},
            headers={"X-Forwarded-For": "192.0.2.99"},
        )
    )


@pytest.mark.django_db
@pytest.mark.usefixtures("clear_of_a_minute_boundary")
@override_settings(AUTH_THROTTLE_RATE="3/min")
def test_registration_is_throttled_per_address(client_ip: str) -> None:
    client = ApiClient(REMOTE_ADDR=client_ip)
    for n in range(3):
        body = {"username": f"user{n}", "password": GOOD_PASSWORD, "email": f"u{n}@example.com"}
        assert client.post("/api/register/", body).status_code == 201
    before = auth_snapshot()
    _assert_throttled(
        client.post(
            "/api/register/",
            {"username": "user3", "password": GOOD_PASSWORD, "email": "u3@example.com"},
        )
    )
    assert auth_snapshot() == before


@pytest.mark.django_db
@pytest.mark.usefixtures("clear_of_a_minute_boundary")
@override_settings(AUTH_THROTTLE_RATE="3/min")
def test_refresh_is_throttled_per_address(customer: User, client_ip: str) -> None:
    client = ApiClient(REMOTE_ADDR=client_ip)
    refresh = login(client, customer).json()["refresh"]
    for _ in range(3):
        response = client.post("/api/token/refresh/", {"refresh": refresh})
        assert response.status_code == 200
        refresh = response.json()["refresh"]
    before = auth_snapshot()
    _assert_throttled(client.post("/api/token/refresh/", {"refresh": refresh}))
    assert auth_snapshot() == before  # the token was not rotated
