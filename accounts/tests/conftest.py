"""Fixtures for the accounts tests: a client address of its own, users as the API renders them."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from django.core.serializers.json import DjangoJSONEncoder

from accounts.models import User
from accounts.throttles import counter_reset

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
