"""Throttles: the admin sign-in shares the API's counters; a dead Redis falls back to memory."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.test import Client, override_settings
from django_redis.cache import RedisCache

from accounts.models import User
from accounts.tests.conftest import new_client_ip
from accounts.tests.factories import PASSWORD, new_user
from accounts.throttles import counter_get, counter_incr, counter_reset
from conftest import ApiClient

THROTTLED = "Too many sign-in attempts. Try again in a minute."

pytestmark = pytest.mark.usefixtures("clear_of_a_minute_boundary")


def _admin_login(client: Client, username: str, password: str) -> Any:
    return client.post("/admin/login/?next=/admin/", {"username": username, "password": password})


def _form_errors(response: Any) -> list[str]:
    return [str(e) for e in response.context["form"].non_field_errors()] if response.context else []


@pytest.fixture
def staff_user(db: Any) -> User:
    user = new_user(is_staff=True)
    counter_reset(f"login-failures:user:{user.username.lower()}")
    return user


@pytest.mark.django_db
@override_settings(AUTH_THROTTLE_RATE="3/min")
def test_the_admin_login_is_throttled_after_wrong_passwords_then_the_right_one_fails(
    staff_user: User,
) -> None:
    # From many addresses: the per-username counter catches it.
    for _ in range(3):
        client = Client(REMOTE_ADDR=new_client_ip())
        response = _admin_login(client, staff_user.username, "wrong-password")
        assert response.status_code == 200
        assert "Please enter the correct username and password" in response.content.decode()
    client = Client(REMOTE_ADDR=new_client_ip())
    response = _admin_login(client, staff_user.username, PASSWORD)
    assert response.status_code == 200  # the form again, not the redirect into the admin
    assert _form_errors(response) == [THROTTLED]
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
@override_settings(AUTH_THROTTLE_RATE="3/min")
def test_wrong_admin_passwords_throttle_the_api_login_of_that_username(staff_user: User) -> None:
    for _ in range(3):
        _admin_login(Client(REMOTE_ADDR=new_client_ip()), staff_user.username, "wrong-password")
    response = ApiClient(REMOTE_ADDR=new_client_ip()).post(
        "/api/token/", {"username": staff_user.username.upper(), "password": PASSWORD}
    )
    assert response.status_code == 429
    assert response.json() == {"detail": "Too many requests.", "code": "throttled"}
    assert 1 <= int(response["Retry-After"]) <= 60


@pytest.mark.django_db
@override_settings(AUTH_THROTTLE_RATE="3/min")
def test_admin_and_api_logins_share_the_per_address_counter(staff_user: User) -> None:
    ip = new_client_ip()
    api = ApiClient(REMOTE_ADDR=ip)
    for _ in range(2):
        assert (
            api.post(
                "/api/token/", {"username": staff_user.username, "password": PASSWORD}
            ).status_code
            == 200
        )
    admin_client = Client(REMOTE_ADDR=ip)
    assert _admin_login(admin_client, staff_user.username, PASSWORD).status_code == 302
    response = _admin_login(Client(REMOTE_ADDR=ip), staff_user.username, PASSWORD)
    assert _form_errors(response) == [THROTTLED]
    assert (
        api.post("/api/token/", {"username": staff_user.username, "password": PASSWORD}).status_code
        == 429
    )


@pytest.mark.django_db
@override_settings(AUTH_THROTTLE_RATE="3/min")
def test_the_api_login_counts_wrong_passwords_per_username_across_addresses() -> None:
    user = new_user()
    counter_reset(f"login-failures:user:{user.username.lower()}")
    for _ in range(3):
        response = ApiClient(REMOTE_ADDR=new_client_ip()).post(
            "/api/token/", {"username": user.username, "password": "wrong"}
        )
        assert response.status_code == 401
    response = ApiClient(REMOTE_ADDR=new_client_ip()).post(
        "/api/token/", {"username": user.username, "password": PASSWORD}
    )
    assert response.status_code == 429


def test_a_windows_boundary_grants_no_fresh_burst() -> None:
    name = f"login:ip:test-{uuid.uuid4().hex}"
    start = 6_000_000.0 - 1  # the last second of a window
    assert [counter_incr(name, window=60, now=start) for _ in range(3)] == [1, 2, 3]
    # Just after the boundary the three hits still count, almost in full.
    assert counter_incr(name, window=60, now=start + 1.5) > 3.9
    assert counter_get(name, window=60, now=start + 61) == 1  # the one after the boundary
    assert counter_get(name, window=60, now=start + 121) == 0


def test_with_redis_down_the_counters_fall_back_to_this_process() -> None:
    # A port nothing listens on: every call to this cache fails as during an outage.
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    dead = RedisCache(  # as config/settings configures a Redis cache
        f"redis://127.0.0.1:{port}/0",
        {
            "OPTIONS": {
                "CLIENT_CLASS": "config.cache.shared_client",
                "IGNORE_EXCEPTIONS": True,
                "SOCKET_CONNECT_TIMEOUT": 0.1,
                "SOCKET_TIMEOUT": 0.1,
            }
        },
    )
    name = f"login:ip:test-{uuid.uuid4().hex}"
    now = 6_000_000.0  # the start of a window: nothing before it
    counts = [counter_incr(name, window=60, cache=dead, now=now) for _ in range(5)]
    assert counts == [1, 2, 3, 4, 5]
    assert counter_get(name, window=60, cache=dead, now=now) == 5
    # Half-way through the next window, half of those 5 still count.
    assert counter_incr(name, window=60, cache=dead, now=now + 90) == 1 + 2.5
