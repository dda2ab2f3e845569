"""JWT obtain, refresh (rotation, reuse revoking the family), verify, blacklist, and /api/me/."""

from __future__ import annotations

import pytest
from ninja_jwt.token_blacklist.models import OutstandingToken
from ninja_jwt.tokens import AccessToken, RefreshToken

from accounts.models import RevokedSession, User
from accounts.tests.conftest import (
    auth_snapshot,
    login,
    user_body,
)
from accounts.tests.factories import PASSWORD, new_user
from conftest import ApiClient, without_pydantic_wording

# --- tokens -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_obtain_returns_a_pair_for_the_user(anon: ApiClient, customer: User) -> None:
    response = login(anon, customer)
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
    before = auth_snapshot()
    response = anon.post("/api/token/", credentials)
    assert response.status_code == 401
    assert response.json() == {
        "detail": "No active account found with the given credentials.",
        "code": "invalid_credentials",
    }
    assert auth_snapshot() == before


@pytest.mark.django_db
def test_an_inactive_user_cannot_sign_in(anon: ApiClient) -> None:
    user = new_user(is_active=False)
    response = login(anon, user)
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
    first = login(anon, customer).json()
    other_session = login(anon, customer).json()
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
    pair = login(anon, customer).json()
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
    pair = login(anon, customer).json()
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
    pair = login(anon, customer).json()
    rotated = anon.post("/api/token/refresh/", {"refresh": pair["refresh"]}).json()
    other_session = login(anon, customer).json()

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
    pair = login(anon, customer).json()
    assert anon.post("/api/token/blacklist/", {"refresh": pair["refresh"]}).status_code == 200
    before = auth_snapshot()
    again = anon.post("/api/token/blacklist/", {"refresh": pair["refresh"]})
    assert again.status_code == 401
    assert again.json() == {
        "detail": "Refresh token is invalid: Token is blacklisted",
        "code": "token_invalid",
    }
    assert auth_snapshot() == before


@pytest.mark.django_db
def test_blacklist_refuses_an_access_token(anon: ApiClient, customer: User) -> None:
    pair = login(anon, customer).json()
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
    pair = login(anon, customer).json()
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
