"""Fixtures for the accounts tests: a client address of its own, users as the API renders them."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from django.core.serializers.json import DjangoJSONEncoder
from ninja_jwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from accounts.models import RevokedSession, User
from accounts.tests.factories import PASSWORD
from accounts.throttles import counter_reset
from conftest import ApiClient

THROTTLE_SCOPES = ("register", "login", "refresh", "password")


def user_body(user: User) -> dict[str, Any]:
    """The API's rendering of a user, built from the database row."""
    user.refresh_from_db()
    return json.loads(
        json.dumps(
            {
                "id": user.pk,
                "username": user.username,
                "email": user.email,
                "is_staff": user.is_staff,
                "date_joined": user.date_joined,
            },
            cls=DjangoJSONEncoder,
        )
    )


def new_client_ip() -> str:
    """An address no other test (nor an earlier run sharing the Redis cache) has used."""
    raw = uuid.uuid4().bytes
    ip = f"10.{raw[0]}.{raw[1]}.{raw[2] or 1}"
    # Throttle counters live in the cache: a leftover from a run a minute ago must not count.
    for scope in THROTTLE_SCOPES:
        counter_reset(f"{scope}:ip:{ip}")
    return ip


@pytest.fixture
def client_ip() -> str:
    return new_client_ip()


GOOD_PASSWORD = "Tr0mbone-Kettle-Lantern"


def login(client: ApiClient, user: User) -> Any:
    return client.post("/api/token/", {"username": user.username, "password": PASSWORD})


def auth_snapshot() -> tuple[list[Any], ...]:
    """Everything a sign-in, rotation or sign-out writes."""
    return (
        list(User.objects.order_by("pk").values()),
        list(OutstandingToken.objects.order_by("pk").values_list("jti", flat=True)),
        list(BlacklistedToken.objects.order_by("pk").values_list("token_id", flat=True)),
        list(RevokedSession.objects.order_by("pk").values_list("sid", flat=True)),
    )
