"""POST /api/register/: who may register, and every refusal with its field error."""

from __future__ import annotations

import pytest

from accounts.models import User
from accounts.tests.conftest import (
    GOOD_PASSWORD,
    auth_snapshot,
    user_body,
)
from accounts.tests.factories import new_user
from conftest import ApiClient, without_pydantic_wording

# --- registration -------------------------------------------------------------------------


@pytest.mark.django_db
def test_register_returns_the_user_without_its_password(anon: ApiClient) -> None:
    response = anon.post(
        "/api/register/",
        {"username": "alice", "password": GOOD_PASSWORD, "email": "alice@example.com"},
    )
    assert response.status_code == 201
    user = User.objects.get(username="alice")
    assert response.json() == user_body(user)
    assert response.json()["is_staff"] is False
    assert GOOD_PASSWORD not in response.content.decode()
    assert user.password not in response.content.decode()
    assert user.check_password(GOOD_PASSWORD)
    assert user.is_active and not user.is_staff and not user.is_superuser


@pytest.mark.django_db
def test_a_registered_user_can_sign_in(anon: ApiClient) -> None:
    anon.post(
        "/api/register/",
        {"username": "alice", "password": GOOD_PASSWORD, "email": "alice@example.com"},
    )
    response = anon.post("/api/token/", {"username": "alice", "password": GOOD_PASSWORD})
    assert response.status_code == 200
    me = ApiClient(response.json()["access"]).get("/api/me/")
    assert me.status_code == 200
    assert me.json() == user_body(User.objects.get(username="alice"))


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("password", "messages"),
    [
        ("password123", ["This password is too common."]),
        ("48213957", ["This password is entirely numeric."]),
        ("alice-example", ["The password is too similar to the username."]),
    ],
)
def test_weak_passwords_are_refused_with_a_field_error(
    anon: ApiClient, password: str, messages: list[str]
) -> None:
    before = auth_snapshot()
    response = anon.post(
        "/api/register/",
        {"username": "alice-example", "password": password, "email": "alice@example.com"},
    )
    assert response.status_code == 422
    assert response.json() == {
        "detail": [
            {"loc": ["body", "password"], "msg": m, "type": "password_invalid"} for m in messages
        ],
        "code": "validation_error",
    }
    assert auth_snapshot() == before


@pytest.mark.django_db
def test_a_short_password_is_refused_by_the_schema(anon: ApiClient) -> None:
    response = anon.post(
        "/api/register/", {"username": "alice", "password": "Sh0rt!", "email": "alice@example.com"}
    )
    assert response.status_code == 422
    assert without_pydantic_wording(response.json()) == {
        "detail": [
            {
                "type": "string_too_short",
                "loc": ["body", "payload", "password"],
            }
        ],
        "code": "validation_error",
    }
    assert not User.objects.exists()


@pytest.mark.django_db
def test_an_invalid_email_is_refused(anon: ApiClient) -> None:
    response = anon.post(
        "/api/register/", {"username": "alice", "password": GOOD_PASSWORD, "email": "not-an-email"}
    )
    assert response.status_code == 422
    assert response.json() == {
        "detail": [
            {
                "loc": ["body", "email"],
                "msg": "Enter a valid email address.",
                "type": "email_invalid",
            }
        ],
        "code": "validation_error",
    }
    assert not User.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("username", ["Alice", "ALICE", "alice"])
def test_a_taken_username_is_refused_whatever_its_case(anon: ApiClient, username: str) -> None:
    new_user(username="alice", email="first@example.com")
    before = auth_snapshot()
    response = anon.post(
        "/api/register/",
        {"username": username, "password": GOOD_PASSWORD, "email": "second@example.com"},
    )
    assert response.status_code == 409
    assert response.json() == {
        "detail": "A user with that username already exists.",
        "code": "username_taken",
    }
    assert auth_snapshot() == before


@pytest.mark.django_db
@pytest.mark.parametrize("email", ["alice@example.com", "Alice@Example.COM"])
def test_a_taken_email_is_refused_whatever_its_case(anon: ApiClient, email: str) -> None:
    new_user(username="alice", email="alice@example.com")
    before = auth_snapshot()
    response = anon.post(
        "/api/register/", {"username": "bob", "password": GOOD_PASSWORD, "email": email}
    )
    assert response.status_code == 409
    assert response.json() == {
        "detail": "A user with that email already exists.",
        "code": "email_taken",
    }
    assert auth_snapshot() == before


@pytest.mark.django_db
@pytest.mark.parametrize("body", ['{"username": "alice", ', "not json at all", "{'a': 1}"])
def test_malformed_json_is_a_400(anon: ApiClient, body: str) -> None:
    response = anon.post("/api/register/", body)
    assert response.status_code == 400
    assert response.json() == {"detail": "Cannot parse request body", "code": "bad_request"}
    assert not User.objects.exists()


@pytest.mark.django_db
def test_missing_fields_are_listed(anon: ApiClient) -> None:
    response = anon.post("/api/register/", {"username": "alice"})
    assert response.status_code == 422
    assert without_pydantic_wording(response.json()) == {
        "detail": [
            {"type": "missing", "loc": ["body", "payload", field]}
            for field in ("password", "email")
        ],
        "code": "validation_error",
    }
    assert not User.objects.exists()


@pytest.mark.django_db
def test_a_body_that_is_not_an_object_is_refused(anon: ApiClient) -> None:
    response = anon.post("/api/register/", [1, 2])
    assert response.status_code == 422
    assert without_pydantic_wording(response.json()) == {
        "detail": [
            {
                "type": "value_error",
                "loc": ["body", "payload"],
                "msg": "The request body must be a JSON object.",
            }
        ],
        "code": "validation_error",
    }
    assert not User.objects.exists()
