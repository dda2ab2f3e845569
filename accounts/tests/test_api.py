"""Accounts API: registration, JWT obtain/refresh/verify/blacklist, /me and login throttling."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import override_settings
from ninja_jwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from ninja_jwt.tokens import AccessToken, RefreshToken

from accounts.models import RevokedSession, User
from accounts.tests.conftest import new_client_ip, user_body
from accounts.tests.factories import PASSWORD, new_user
from conftest import ApiClient, without_pydantic_wording

GOOD_PASSWORD = "Tr0mbone-Kettle-Lantern"


def _login(client: ApiClient, user: User) -> Any:
    return client.post("/api/token/", {"username": user.username, "password": PASSWORD})


def _auth_snapshot() -> tuple[list[Any], ...]:
    """Everything a sign-in, rotation or sign-out writes."""
    return (
        list(User.objects.order_by("pk").values()),
        list(OutstandingToken.objects.order_by("pk").values_list("jti", flat=True)),
        list(BlacklistedToken.objects.order_by("pk").values_list("token_id", flat=True)),
        list(RevokedSession.objects.order_by("pk").values_list("sid", flat=True)),
    )


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
    before = _auth_snapshot()
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
    assert _auth_snapshot() == before


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
    before = _auth_snapshot()
    response = anon.post(
        "/api/register/",
        {"username": username, "password": GOOD_PASSWORD, "email": "second@example.com"},
    )
    assert response.status_code == 409
    assert response.json() == {
        "detail": "A user with that username already exists.",
        "code": "username_taken",
    }
    assert _auth_snapshot() == before


@pytest.mark.django_db
@pytest.mark.parametrize("email", ["alice@example.com", "Alice@Example.COM"])
def test_a_taken_email_is_refused_whatever_its_case(anon: ApiClient, email: str) -> None:
    new_user(username="alice", email="alice@example.com")
    before = _auth_snapshot()
    response = anon.post(
        "/api/register/", {"username": "bob", "password": GOOD_PASSWORD, "email": email}
    )
    assert response.status_code == 409
    assert response.json() == {
        "detail": "A user with that email already exists.",
        "code": "email_taken",
    }
    assert _auth_snapshot() == before


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


# --- tokens -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_obtain_returns_a_pair_for_the_user(anon: ApiClient, customer: User) -> None:
    response = _login(anon, customer)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access", "refresh"}
    access, refresh = AccessToken(body["access"]), RefreshToken(body["refresh"])
    assert access["user_id"] == refresh["user_id"] == customer.pk
    assert access["sid"] == refresh["sid"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "credentials",
    [
        {"username": "customer", "password": "wrong-password"},
        {"username": "nobody", "password": PASSWORD},
    ],
)
def test_wrong_credentials_are_a_401(anon: ApiClient, credentials: dict[str, str]) -> None:
    new_user(username="customer")
    before = _auth_snapshot()
    response = anon.post("/api/token/", credentials)
    assert response.status_code == 401
    assert response.json() == {
        "detail": "No active account found with the given credentials.",
        "code": "invalid_credentials",
    }
    assert _auth_snapshot() == before


@pytest.mark.django_db
def test_an_inactive_user_cannot_sign_in(anon: ApiClient) -> None:
    user = new_user(is_active=False)
    response = _login(anon, user)
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_credentials"
    assert not OutstandingToken.objects.exists()


@pytest.mark.django_db
def test_obtain_with_missing_password_is_a_422(anon: ApiClient) -> None:
    response = anon.post("/api/token/", {"username": "alice"})
    assert response.status_code == 422
    assert without_pydantic_wording(response.json()) == {
        "detail": [{"type": "missing", "loc": ["body", "payload", "password"]}],
        "code": "validation_error",
    }


@pytest.mark.django_db
def test_refresh_rotates_and_a_replayed_refresh_revokes_its_whole_family(
    anon: ApiClient, customer: User
) -> None:
    first = _login(anon, customer).json()
    other_session = _login(anon, customer).json()
    response = anon.post("/api/token/refresh/", {"refresh": first["refresh"]})
    assert response.status_code == 200
    second = response.json()
    assert set(second) == {"access", "refresh"}
    assert second["refresh"] != first["refresh"]
    # The rotation stays in the same sign-in session (and the first token is now blacklisted).
    old_sid = RefreshToken(first["refresh"], verify=False)["sid"]
    assert RefreshToken(second["refresh"])["sid"] == old_sid
    assert ApiClient(second["access"]).get("/api/me/").json() == user_body(customer)

    # Someone presents the already-rotated token: two parties hold this family.
    replay = anon.post("/api/token/refresh/", {"refresh": first["refresh"]})
    assert replay.status_code == 401
    assert replay.json() == {
        "detail": "This refresh token was already used: every token of its session is "
        "revoked; sign in again.",
        "code": "token_reused",
    }
    assert list(RevokedSession.objects.values_list("sid", "user_id")) == [(old_sid, customer.pk)]
    # Every token of the family is dead: the rotated refresh token and both access tokens.
    signed_out = {"detail": "This session has been signed out.", "code": "token_revoked"}
    refused = anon.post("/api/token/refresh/", {"refresh": second["refresh"]})
    assert (refused.status_code, refused.json()) == (401, signed_out)
    for access in (first["access"], second["access"]):
        me = ApiClient(access).get("/api/me/")
        assert (me.status_code, me.json()) == (401, signed_out)
    # The user's other session is another family and lives on.
    assert ApiClient(other_session["access"]).get("/api/me/").status_code == 200
    assert (
        anon.post("/api/token/refresh/", {"refresh": other_session["refresh"]}).status_code == 200
    )


@pytest.mark.django_db
def test_an_access_token_is_not_a_refresh_token(anon: ApiClient, customer: User) -> None:
    pair = _login(anon, customer).json()
    response = anon.post("/api/token/refresh/", {"refresh": pair["access"]})
    assert response.status_code == 401
    assert response.json() == {
        "detail": "Refresh token is invalid: Token has wrong type",
        "code": "token_invalid",
    }


@pytest.mark.django_db
def test_a_garbage_refresh_token_is_a_401(anon: ApiClient) -> None:
    response = anon.post("/api/token/refresh/", {"refresh": "not.a.token"})
    assert response.status_code == 401
    assert response.json() == {
        "detail": "Refresh token is invalid: Token is invalid or expired",
        "code": "token_invalid",
    }


@pytest.mark.django_db
def test_verify_accepts_live_tokens_and_refuses_others(anon: ApiClient, customer: User) -> None:
    pair = _login(anon, customer).json()
    for token in (pair["access"], pair["refresh"]):
        response = anon.post("/api/token/verify/", {"token": token})
        assert response.status_code == 200
        assert response.json() == {"detail": "Token is valid."}
    bad = anon.post("/api/token/verify/", {"token": pair["access"][:-4] + "AAAA"})
    assert bad.status_code == 401
    assert bad.json() == {"detail": "Token is invalid or expired.", "code": "token_invalid"}


@pytest.mark.django_db
def test_blacklist_signs_out_the_refresh_and_every_access_token_of_the_session(
    anon: ApiClient, customer: User
) -> None:
    pair = _login(anon, customer).json()
    rotated = anon.post("/api/token/refresh/", {"refresh": pair["refresh"]}).json()
    other_session = _login(anon, customer).json()

    response = anon.post("/api/token/blacklist/", {"refresh": rotated["refresh"]})
    assert response.status_code == 200
    assert response.json() == {"detail": "Signed out."}
    assert list(RevokedSession.objects.values_list("sid", "user_id")) == [
        (RefreshToken(pair["refresh"], verify=False)["sid"], customer.pk)
    ]

    refused = anon.post("/api/token/refresh/", {"refresh": rotated["refresh"]})
    assert refused.status_code == 401
    assert refused.json() == {
        "detail": "This session has been signed out.",
        "code": "token_revoked",
    }
    # Access tokens minted before the sign-out, from the first pair and from the rotation.
    for access in (pair["access"], rotated["access"]):
        me = ApiClient(access).get("/api/me/")
        assert me.status_code == 401
        assert me.json() == {"detail": "This session has been signed out.", "code": "token_revoked"}
        verify = anon.post("/api/token/verify/", {"token": access})
        assert verify.status_code == 401
        assert verify.json()["code"] == "token_invalid"
    # Another sign-in of the same user is a separate session and stays open.
    assert ApiClient(other_session["access"]).get("/api/me/").status_code == 200
    assert (
        anon.post("/api/token/refresh/", {"refresh": other_session["refresh"]}).status_code == 200
    )


@pytest.mark.django_db
def test_blacklisting_twice_is_refused_and_changes_nothing(anon: ApiClient, customer: User) -> None:
    pair = _login(anon, customer).json()
    assert anon.post("/api/token/blacklist/", {"refresh": pair["refresh"]}).status_code == 200
    before = _auth_snapshot()
    again = anon.post("/api/token/blacklist/", {"refresh": pair["refresh"]})
    assert again.status_code == 401
    assert again.json() == {
        "detail": "Refresh token is invalid: Token is blacklisted",
        "code": "token_invalid",
    }
    assert _auth_snapshot() == before


@pytest.mark.django_db
def test_blacklist_refuses_an_access_token(anon: ApiClient, customer: User) -> None:
    pair = _login(anon, customer).json()
    response = anon.post("/api/token/blacklist/", {"refresh": pair["access"]})
    assert response.status_code == 401
    assert response.json()["code"] == "token_invalid"
    assert not RevokedSession.objects.exists()
    assert ApiClient(pair["access"]).get("/api/me/").status_code == 200


# --- /api/me/ -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_me_returns_the_caller(customer_api: ApiClient, customer: User) -> None:
    response = customer_api.get("/api/me/")
    assert response.status_code == 200
    assert response.json() == user_body(customer)


@pytest.mark.django_db
def test_me_for_staff_says_so(staff_api: ApiClient, staff: User) -> None:
    response = staff_api.get("/api/me/")
    assert response.status_code == 200
    assert response.json() == user_body(staff)
    assert response.json()["is_staff"] is True


@pytest.mark.django_db
@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Basic YWxpY2U6c2VjcmV0"}, {"Authorization": "Token abc"}],
)
def test_me_without_a_bearer_token_is_a_401(anon: ApiClient, headers: dict[str, str]) -> None:
    response = anon.get("/api/me/", headers=headers)
    assert response.status_code == 401
    assert response.json() == {
        "detail": "Authentication credentials were not provided.",
        "code": "not_authenticated",
    }


@pytest.mark.django_db
def test_me_with_a_refresh_token_or_garbage_is_a_401(anon: ApiClient, customer: User) -> None:
    pair = _login(anon, customer).json()
    wrong_type = ApiClient(pair["refresh"]).get("/api/me/")
    assert wrong_type.status_code == 401
    assert wrong_type.json() == {
        "detail": "Access token is invalid or expired: Token has wrong type",
        "code": "token_invalid",
    }
    garbage = ApiClient("garbage").get("/api/me/")
    assert garbage.status_code == 401
    assert garbage.json() == {
        "detail": "Access token is invalid or expired: Token is invalid or expired",
        "code": "token_invalid",
    }


@pytest.mark.django_db
def test_me_refuses_a_user_deactivated_after_sign_in(
    customer_api: ApiClient, customer: User
) -> None:
    User.objects.filter(pk=customer.pk).update(is_active=False)
    response = customer_api.get("/api/me/")
    assert response.status_code == 401
    assert response.json() == {"detail": "User not found or inactive.", "code": "token_invalid"}


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
    assert _login(client, customer).status_code == 200
    assert _login(client, customer).status_code == 200
    before = _auth_snapshot()
    response = _login(client, customer)
    _assert_throttled(response)
    assert _auth_snapshot() == before  # no token was issued


@pytest.mark.django_db
@pytest.mark.usefixtures("clear_of_a_minute_boundary")
@override_settings(AUTH_THROTTLE_RATE="3/min")
def test_another_address_is_not_throttled(customer: User, client_ip: str) -> None:
    throttled = ApiClient(REMOTE_ADDR=client_ip)
    for _ in range(3):
        assert _login(throttled, customer).status_code == 200
    _assert_throttled(_login(throttled, customer))
    elsewhere = ApiClient(REMOTE_ADDR=new_client_ip())
    assert _login(elsewhere, customer).status_code == 200


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
    before = _auth_snapshot()
    _assert_throttled(
        client.post(
            "/api/register/",
            {"username": "user3", "password": GOOD_PASSWORD, "email": "u3@example.com"},
        )
    )
    assert _auth_snapshot() == before


@pytest.mark.django_db
@pytest.mark.usefixtures("clear_of_a_minute_boundary")
@override_settings(AUTH_THROTTLE_RATE="3/min")
def test_refresh_is_throttled_per_address(customer: User, client_ip: str) -> None:
    client = ApiClient(REMOTE_ADDR=client_ip)
    refresh = _login(client, customer).json()["refresh"]
    for _ in range(3):
        response = client.post("/api/token/refresh/", {"refresh": refresh})
        assert response.status_code == 200
        refresh = response.json()["refresh"]
    before = _auth_snapshot()
    _assert_throttled(client.post("/api/token/refresh/", {"refresh": refresh}))
    assert _auth_snapshot() == before  # the token was not rotated
