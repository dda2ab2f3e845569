"""Accounts services and selectors: registration rules, token rotation and session sign-out."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from ninja_jwt.token_blacklist.models import BlacklistedToken
from ninja_jwt.tokens import AccessToken, RefreshToken

from accounts import selectors, services
from accounts.models import RevokedSession, User
from accounts.tests.factories import PASSWORD, new_user
from common.errors import Conflict, InvalidInput, NotAuthenticated

GOOD_PASSWORD = "Tr0mbone-Kettle-Lantern"


@pytest.mark.django_db
def test_user_register_stores_a_hashed_password_and_trims_names() -> None:
    user = services.user_register(
        username="  alice ", password=GOOD_PASSWORD, email=" alice@example.com "
    )
    user.refresh_from_db()
    assert (user.username, user.email) == ("alice", "alice@example.com")
    assert user.password != GOOD_PASSWORD
    assert user.check_password(GOOD_PASSWORD)
    assert not user.is_staff


@pytest.mark.django_db
def test_user_register_applies_djangos_password_validators() -> None:
    with pytest.raises(InvalidInput) as exc:
        services.user_register(username="alice", password="password123", email="a@example.com")
    assert (exc.value.status, exc.value.code) == (422, "validation_error")
    assert exc.value.detail == [
        {
            "loc": ["body", "password"],
            "msg": "This password is too common.",
            "type": "password_invalid",
        }
    ]
    assert not User.objects.exists()


@pytest.mark.django_db
def test_user_register_refuses_an_invalid_username() -> None:
    with pytest.raises(InvalidInput) as exc:
        services.user_register(username="al ice", password=GOOD_PASSWORD, email="a@example.com")
    assert exc.value.detail[0]["type"] == "username_invalid"
    assert exc.value.detail[0]["loc"] == ["body", "username"]
    assert not User.objects.exists()


@pytest.mark.django_db
def test_user_register_conflicts_are_case_insensitive() -> None:
    new_user(username="Alice", email="Alice@Example.com")
    with pytest.raises(Conflict) as by_name:
        services.user_register(username="aLICE", password=GOOD_PASSWORD, email="x@example.com")
    assert (by_name.value.status, by_name.value.code) == (409, "username_taken")
    with pytest.raises(Conflict) as by_email:
        services.user_register(username="bob", password=GOOD_PASSWORD, email="alice@EXAMPLE.com")
    assert (by_email.value.status, by_email.value.code) == (409, "email_taken")
    assert User.objects.count() == 1


@pytest.mark.django_db
def test_the_database_refuses_an_email_differing_only_in_case() -> None:
    # The service checks first; the constraint is what holds under a race.
    new_user(username="alice", email="alice@example.com")
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create(username="bob", email="ALICE@example.com")


@pytest.mark.django_db
def test_token_obtain_puts_one_session_id_in_both_tokens() -> None:
    user = new_user()
    pair = services.token_obtain(username=user.username, password=PASSWORD)
    access, refresh = AccessToken(pair["access"]), RefreshToken(pair["refresh"])
    assert access["sid"] == refresh["sid"]
    assert access["user_id"] == user.pk
    other = services.token_obtain(username=user.username, password=PASSWORD)
    assert RefreshToken(other["refresh"])["sid"] != refresh["sid"]


@pytest.mark.django_db
def test_session_start_mints_a_new_session_of_the_user_without_a_password() -> None:
    user = new_user()
    pair = services.session_start(user=user)
    access, refresh = AccessToken(pair["access"]), RefreshToken(pair["refresh"])
    assert (access["user_id"], access["sid"], access["tk"]) == (
        user.pk,
        refresh["sid"],
        user.token_key,
    )
    assert isinstance(refresh.get("session_exp"), int)
    assert RefreshToken(services.session_start(user=user)["refresh"])["sid"] != refresh["sid"]


@pytest.mark.django_db
def test_token_obtain_refuses_wrong_password_and_inactive_users() -> None:
    user = new_user()
    inactive = new_user(is_active=False)
    for username, password in ((user.username, "wrong"), (inactive.username, PASSWORD)):
        with pytest.raises(NotAuthenticated) as exc:
            services.token_obtain(username=username, password=password)
        assert (exc.value.status, exc.value.code) == (401, "invalid_credentials")


@pytest.mark.django_db
def test_token_refresh_blacklists_the_old_token_and_keeps_the_session() -> None:
    user = new_user()
    pair = services.token_obtain(username=user.username, password=PASSWORD)
    old = RefreshToken(pair["refresh"])
    rotated = services.token_refresh(refresh=pair["refresh"])
    new = RefreshToken(rotated["refresh"])
    assert new["jti"] != old["jti"]
    assert new["sid"] == old["sid"]
    assert AccessToken(rotated["access"])["sid"] == old["sid"]
    assert BlacklistedToken.objects.filter(token__jti=old["jti"]).exists()
    assert not BlacklistedToken.objects.filter(token__jti=new["jti"]).exists()
    with pytest.raises(NotAuthenticated) as exc:
        services.token_refresh(refresh=pair["refresh"])
    assert exc.value.code == "token_reused"


@pytest.mark.django_db
def test_token_refresh_refuses_a_deactivated_user() -> None:
    user = new_user()
    pair = services.token_obtain(username=user.username, password=PASSWORD)
    User.objects.filter(pk=user.pk).update(is_active=False)
    with pytest.raises(NotAuthenticated) as exc:
        services.token_refresh(refresh=pair["refresh"])
    assert (exc.value.code, exc.value.detail) == ("token_invalid", "User not found or inactive.")
    assert not BlacklistedToken.objects.exists()


@pytest.mark.django_db
def test_token_blacklist_revokes_the_session() -> None:
    user = new_user()
    pair = services.token_obtain(username=user.username, password=PASSWORD)
    assert selectors.user_from_access_token(pair["access"]) == user
    services.token_blacklist(refresh=pair["refresh"])
    sid = AccessToken(pair["access"])["sid"]
    assert RevokedSession.objects.get().sid == sid
    assert RevokedSession.objects.get().user == user
    with pytest.raises(NotAuthenticated) as exc:
        selectors.user_from_access_token(pair["access"])
    assert exc.value.code == "token_revoked"
    assert selectors.token_is_valid(pair["access"]) is False
    assert selectors.token_is_valid(pair["refresh"]) is False


@pytest.mark.django_db
def test_a_refresh_of_a_revoked_session_is_refused_even_if_not_blacklisted() -> None:
    user = new_user()
    pair = services.token_obtain(username=user.username, password=PASSWORD)
    RevokedSession.objects.create(sid=RefreshToken(pair["refresh"])["sid"], user=user)
    with pytest.raises(NotAuthenticated) as exc:
        services.token_refresh(refresh=pair["refresh"])
    assert exc.value.code == "token_revoked"


@pytest.mark.django_db
def test_tokens_without_a_session_id_are_refused() -> None:
    # A token minted without our sign-in service (no `sid`) cannot be signed out, so refuse it.
    user = new_user()
    bare = RefreshToken.for_user(user)  # type: ignore[misc]
    assert selectors.token_is_valid(str(bare)) is False
    with pytest.raises(NotAuthenticated) as exc:
        selectors.user_from_access_token(str(bare.access_token))
    assert exc.value.code == "token_revoked"


@pytest.mark.django_db
def test_token_is_valid() -> None:
    user = new_user()
    pair = services.token_obtain(username=user.username, password=PASSWORD)
    assert selectors.token_is_valid(pair["access"]) is True
    assert selectors.token_is_valid(pair["refresh"]) is True
    assert selectors.token_is_valid("garbage") is False
