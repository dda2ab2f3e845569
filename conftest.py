"""Shared pytest fixtures: a JSON API client, users with tokens, and a clean catalog cache."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator
from typing import Any, get_args

import pytest
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.test import Client
from pydantic_core.core_schema import ErrorType

from accounts.services import token_obtain
from accounts.tests.factories import PASSWORD, StaffFactory, UserFactory

FULLSTACK = settings.DATABASES["default"]["ENGINE"].endswith("postgresql") and bool(
    settings.REDIS_URL
)

fullstack = pytest.mark.skipif(
    not FULLSTACK,
    reason="needs PostgreSQL + Redis: set DATABASE_URL and REDIS_URL (as .ci/run does)",
)


def page_of(
    items: list[Any],
    *,
    count: int | None = None,
    page: int = 1,
    page_size: int = 20,
    next: str | None = None,
    previous: str | None = None,
) -> dict[str, Any]:
    """A list response as the API's pagination renders it (common.pagination)."""
    total = len(items) if count is None else count
    return {
        "items": items,
        "count": total,
        "count_exact": True,
        "page": page,
        "page_size": page_size,
        "pages": math.ceil(total / page_size),
        "next": next,
        "previous": previous,
    }


class ApiClient:
    """django.test.Client speaking JSON, optionally as a user with a Bearer token."""

    def __init__(self, token: str | None = None, **defaults: Any):
        self.client = Client(**defaults)
        self.token = token

    def _headers(self, headers: dict[str, str] | None) -> dict[str, str]:
        h = dict(headers or {})
        if self.token and "Authorization" not in h:
            h["Authorization"] = f"Bearer {self.token}"
        return h

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        **query: Any,
    ) -> Any:
        fn = getattr(self.client, method.lower())
        kwargs: dict[str, Any] = {"headers": self._headers(headers)}
        if method.upper() in ("GET", "DELETE") and query:
            kwargs["data"] = query
        if body is not None:
            kwargs["data"] = body if isinstance(body, str) else json.dumps(body)
            kwargs["content_type"] = "application/json"
        return fn(path, **kwargs)

    def get(self, path: str, **kw: Any) -> Any:
        return self.request("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> Any:
        return self.request("POST", path, body, **kw)

    def put(self, path: str, body: Any = None, **kw: Any) -> Any:
        return self.request("PUT", path, body, **kw)

    def patch(self, path: str, body: Any = None, **kw: Any) -> Any:
        return self.request("PATCH", path, body, **kw)

    def delete(self, path: str, **kw: Any) -> Any:
        return self.request("DELETE", path, **kw)


_PYDANTIC_ERROR_TYPES = frozenset(get_args(ErrorType))


def validation_error(loc: list[Any], type_: str, msg: str | None = None) -> dict[str, Any]:
    """A 422 body with one error, as `without_pydantic_wording` leaves it: a `msg` only for
    our own words (a `value_error` raised by our validators)."""
    error: dict[str, Any] = {"type": type_, "loc": loc}
    if msg is not None:
        error["msg"] = msg
    return {"detail": [error], "code": "validation_error"}


def without_pydantic_wording(body: Any) -> Any:
    """An error body with pydantic's own wording dropped: the `msg` of its errors (each
    checked to be a non-empty string), which tests hold to their `type` and `loc`, the
    contract, since the wording changes between pydantic releases; for a `value_error` (raised
    by our validators) our message is kept, without pydantic's "Value error, " prefix."""
    if not isinstance(body, dict) or not isinstance(body.get("detail"), list):
        return body
    detail = []
    for error in body["detail"]:
        if isinstance(error, dict) and error.get("type") in _PYDANTIC_ERROR_TYPES:
            msg = error.get("msg")
            assert isinstance(msg, str) and msg, error
            error = {k: v for k, v in error.items() if k != "msg"}
            if error["type"] == "value_error":
                error["msg"] = msg.removeprefix("Value error, ")
        detail.append(error)
    return {**body, "detail": detail}


def as_json(value: Any) -> Any:
    """A value as the API renders it (datetimes in ISO 8601 with milliseconds, decimals as str)."""
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def access_for(user: Any) -> str:
    """An access token for a user made by the factories (password PASSWORD)."""
    return str(token_obtain(username=user.username, password=PASSWORD)["access"])


@pytest.fixture
def clear_of_a_minute_boundary() -> None:
    """For tests that count to a per-minute throttle limit: the counters weigh the previous
    minute in by how much of it is left, so a count that straddles a boundary can land just
    under the limit. Such a test starts at least 15 s before the next minute."""
    left = 60 - time.time() % 60
    if left < 15:
        time.sleep(left + 0.1)


def side_connection() -> Any:
    """A psycopg connection to the test database outside Django and its pool (PostgreSQL only):
    to hold a row lock, or to see what other backends are doing, while the code under test runs.
    """
    import psycopg
    from django.db import connection

    params = connection.get_connection_params()
    for django_only in ("pool", "cursor_factory", "context"):
        params.pop(django_only, None)
    return psycopg.connect(**params)


def client_for(user: Any) -> ApiClient:
    return ApiClient(token_obtain(username=user.username, password=PASSWORD)["access"])


@pytest.fixture
def anon() -> ApiClient:
    return ApiClient()


@pytest.fixture
def customer(db: Any) -> Any:
    return UserFactory()


@pytest.fixture
def other_customer(db: Any) -> Any:
    return UserFactory()


@pytest.fixture
def staff(db: Any) -> Any:
    return StaffFactory()


@pytest.fixture
def customer_api(customer: Any) -> ApiClient:
    return client_for(customer)


@pytest.fixture
def other_api(other_customer: Any) -> ApiClient:
    return client_for(other_customer)


@pytest.fixture
def staff_api(staff: Any) -> ApiClient:
    return client_for(staff)


@pytest.fixture(autouse=True)
def _fresh_catalog_cache(request: pytest.FixtureRequest) -> Iterator[None]:
    """Tests roll back their writes; cachalot must not serve rows of an earlier test."""
    uses_db = {"db", "transactional_db"} & set(request.fixturenames)
    if uses_db:
        from cachalot.api import invalidate

        request.getfixturevalue(uses_db.pop())
        invalidate()
    yield
    if uses_db:
        invalidate()
