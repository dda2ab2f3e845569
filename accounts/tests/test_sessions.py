"""Token families: the user's key, sign out everywhere, password changes, session age, reuse,
deleted and inactive users, and usernames unique regardless of case in the database."""

from __future__ import annotations

import importlib
import threading
import time
from typing import Any

import pytest
from django.apps import apps
from django.contrib.auth.forms import AdminPasswordChangeForm
from django.contrib.auth.hashers import make_password
from django.db import IntegrityError, connection, transaction
from django.test import override_settings
from ninja_jwt.tokens import RefreshToken

from accounts import selectors, services
from accounts.models import User
from accounts.tests.factories import PASSWORD, new_user
from common.errors import NotAuthenticated
from conftest import FULLSTACK, ApiClient, side_connection

NEW_PASSWORD = "Tr0mbone-Kettle-Lantern"
SIGNED_OUT = {"detail": "This session has been signed out.", "code": "token_revoked"}


def _pair(user: User, password: str = PASSWORD) -> dict[str, str]:
    return services.token_obtain(username=user.username, password=password)


def _dead(pair: dict[str, str]) -> None:
    """Both tokens of a pair are refused everywhere: API, refresh, verify."""
    anon = ApiClient()
    me = ApiClient(pair["access"]).get("/api/me/")
    assert (me.status_code, me.json()) == (401, SIGNED_OUT)
    refresh = anon.post("/api/token/refresh/", {"refresh": pair["refresh"]})
    assert (refresh.status_code, refresh.json()) == (401, SIGNED_OUT)
    for token in pair.values():
        assert anon.post("/api/token/verify/", {"token": token}).status_code == 401


def _alive(pair: dict[str, str]) -> None:
    assert ApiClient(pair["access"]).get("/api/me/").status_code == 200


@pytest.mark.django_db
def test_tokens_carry_the_users_key_and_the_sessions_end() -> None:
    user = new_user()
    with override_settings(JWT_SESSION_MAX_DAYS=30):
        pair = _pair(user)
    refresh = RefreshToken(pair["refresh"])
    assert refresh["tk"] == user.token_key
    assert abs(refresh["session_exp"] - (refresh["iat"] + 30 * 86400)) <= 1
    rotated = RefreshToken(services.token_refresh(refresh=pair["refresh"])["refresh"])
    assert (rotated["tk"], rotated["session_exp"]) == (refresh["tk"], refresh["session_exp"])


@pytest.mark.django_db
def test_set_password_and_save_as_in_a_shell_ends_every_session() -> None:
    user = new_user()
    first, second = _pair(user), _pair(user)
    key = user.token_key
    same = User.objects.get(pk=user.pk)
    same.set_password(NEW_PASSWORD)
    same.save()
    assert User.objects.get(pk=user.pk).token_key != key
    _dead(first)
    _dead(second)
    _alive(_pair(user, NEW_PASSWORD))


@pytest.mark.django_db
def test_a_password_saved_with_update_fields_also_changes_the_key() -> None:
    user = new_user()
    pair = _pair(user)
    user.set_password(NEW_PASSWORD)
    user.save(update_fields=["password"])
    _dead(pair)


@pytest.mark.django_db
def test_the_admin_password_form_ends_every_session() -> None:
    user = new_user()
    pair = _pair(user)
    form = AdminPasswordChangeForm(
        User.objects.get(pk=user.pk), {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )
    assert form.is_valid(), form.errors
    form.save()
    _dead(pair)


@pytest.mark.django_db
def test_a_password_hash_upgrade_at_sign_in_is_not_a_password_change(settings: Any) -> None:
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        "django.contrib.auth.hashers.MD5PasswordHasher",
    ]
    user = new_user()
    User.objects.filter(pk=user.pk).update(password=make_password(PASSWORD, hasher="md5"))
    key = User.objects.get(pk=user.pk).token_key
    pair = _pair(user)  # checks the password: upgrades the hash to PBKDF2
    upgraded = User.objects.get(pk=user.pk)
    assert upgraded.password.startswith("pbkdf2_sha256$")
    assert upgraded.token_key == key
    _alive(pair)


@pytest.mark.django_db
def test_revoke_all_ends_every_session_access_tokens_included() -> None:
    user = new_user()
    first, second = _pair(user), _pair(user)
    response = ApiClient(first["access"]).post("/api/token/revoke-all/")
    assert (response.status_code, response.json()) == (200, {"detail": "Signed out everywhere."})
    _dead(first)
    _dead(second)
    _alive(_pair(user))


@pytest.mark.django_db
def test_revoke_all_needs_a_live_access_token() -> None:
    response = ApiClient().post("/api/token/revoke-all/")
    assert response.status_code == 401


@pytest.mark.django_db
def test_password_change_needs_the_old_password_and_ends_the_other_sessions() -> None:
    user = new_user()
    mine, other = _pair(user), _pair(user)
    api = ApiClient(mine["access"])
    key = User.objects.get(pk=user.pk).token_key

    wrong = api.post("/api/password/", {"old_password": "nope", "new_password": NEW_PASSWORD})
    assert wrong.status_code == 400
    assert wrong.json() == {"detail": "Wrong password.", "code": "wrong_password"}
    weak = api.post("/api/password/", {"old_password": PASSWORD, "new_password": "password"})
    assert weak.status_code == 422
    assert weak.json()["detail"][0]["loc"] == ["body", "new_password"]
    assert User.objects.get(pk=user.pk).token_key == key  # nothing changed
    _alive(other)

    done = api.post("/api/password/", {"old_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert done.status_code == 200
    fresh = done.json()
    assert set(fresh) == {"access", "refresh"}
    _dead(mine)
    _dead(other)
    _alive(fresh)
    assert ApiClient().post("/api/token/refresh/", {"refresh": fresh["refresh"]}).status_code == 200
    assert (
        ApiClient()
        .post("/api/token/", {"username": user.username, "password": PASSWORD})
        .status_code
        == 401
    )
    _alive(_pair(user, NEW_PASSWORD))


@pytest.mark.django_db
def test_a_session_older_than_its_maximum_age_cannot_be_refreshed() -> None:
    user = new_user()
    pair = _pair(user)
    aged = RefreshToken(pair["refresh"])
    aged["session_exp"] = int(aged.current_time.timestamp()) - 1
    response = ApiClient().post("/api/token/refresh/", {"refresh": str(aged)})
    assert response.status_code == 401
    assert response.json() == {
        "detail": "This session has reached its maximum age; sign in again.",
        "code": "session_expired",
    }


@pytest.mark.django_db
def test_rotation_renews_the_refresh_token_but_not_the_session() -> None:
    user = new_user()
    pair = _pair(user)
    first = RefreshToken(pair["refresh"])
    rotated = RefreshToken(services.token_refresh(refresh=pair["refresh"])["refresh"])
    again = RefreshToken(services.token_refresh(refresh=str(rotated))["refresh"])
    assert again["session_exp"] == first["session_exp"]
    assert again["exp"] >= first["exp"]


@pytest.mark.django_db
def test_blacklist_and_verify_with_a_deleted_users_tokens_are_401s() -> None:
    user = new_user()
    pair = _pair(user)
    User.objects.filter(pk=user.pk).delete()
    anon = ApiClient()
    response = anon.post("/api/token/blacklist/", {"refresh": pair["refresh"]})
    assert (response.status_code, response.json()["code"]) == (401, "token_invalid")
    for token in pair.values():
        assert anon.post("/api/token/verify/", {"token": token}).status_code == 401
    assert anon.post("/api/token/refresh/", {"refresh": pair["refresh"]}).status_code == 401


@pytest.mark.django_db
def test_verify_refuses_an_inactive_users_tokens_but_sign_out_still_works() -> None:
    user = new_user()
    pair = _pair(user)
    User.objects.filter(pk=user.pk).update(is_active=False)
    anon = ApiClient()
    for token in pair.values():
        response = anon.post("/api/token/verify/", {"token": token})
        assert (response.status_code, response.json()["code"]) == (401, "token_invalid")
    assert selectors.token_is_valid(pair["access"]) is False
    assert anon.post("/api/token/blacklist/", {"refresh": pair["refresh"]}).status_code == 200


@pytest.mark.django_db(transaction=True)
def test_blacklist_of_a_deleted_users_token_commits_nothing_and_is_no_500() -> None:
    # The foreign key to the user is checked at commit: only a real commit shows a 500.
    user = new_user()
    pair = _pair(user)
    User.objects.filter(pk=user.pk).delete()
    with pytest.raises(NotAuthenticated):
        services.token_blacklist(refresh=pair["refresh"])


# --- usernames unique regardless of case -------------------------------------------------


@pytest.mark.django_db
def test_the_database_refuses_a_username_differing_only_in_case() -> None:
    new_user(username="RaceX", email="a@example.com")
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create(username="racex", email="b@example.com")


@pytest.mark.skipif(not FULLSTACK, reason="needs PostgreSQL (concurrent transactions)")
@pytest.mark.django_db(transaction=True)
def test_concurrent_case_variant_registrations_give_one_201_and_one_409() -> None:
    names = ["raceX", "RACEX"]
    results: dict[str, Any] = {}
    barrier = threading.Barrier(len(names))

    def register(name: str) -> None:
        try:
            barrier.wait(timeout=10)
            body = {"username": name, "password": NEW_PASSWORD, "email": f"{name}1@example.org"}
            if name == "RACEX":
                body["email"] = "second@example.org"
            response = ApiClient(REMOTE_ADDR="10.99.0.1").post("/api/register/", body)
            results[name] = (response.status_code, response.json())
        finally:
            connection.close()

    # The service's existence check and its insert are apart. The first insert keeps its
    # transaction open until the other registration is blocked on the unique index (so its
    # check passed): the database alone decides, as it must under load.
    original = User.save
    first = threading.Lock()
    watcher = side_connection()
    watcher.autocommit = True

    def other_insert_waits() -> bool:
        rows = watcher.execute(
            "SELECT 1 FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND query LIKE %s",
            ['INSERT INTO "accounts_user"%'],
        ).fetchall()
        return bool(rows)

    def held_save(self: User, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        if first.acquire(blocking=False):
            deadline = time.monotonic() + 10
            while not other_insert_waits():
                assert time.monotonic() < deadline, "the other registration never blocked"
                time.sleep(0.02)

    User.save = held_save  # type: ignore[method-assign]
    try:
        threads = [threading.Thread(target=register, args=(n,)) for n in names]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
    finally:
        User.save = original  # type: ignore[method-assign]
        watcher.close()

    statuses = sorted(status for status, _ in results.values())
    assert statuses == [201, 409], results
    loser = next(body for status, body in results.values() if status == 409)
    assert loser == {
        "detail": "A user with that username already exists.",
        "code": "username_taken",
    }
    assert User.objects.filter(username__iexact="racex").count() == 1


@pytest.mark.skipif(not FULLSTACK, reason="drops the constraint inside the test's transaction")
@pytest.mark.django_db
def test_the_migration_refuses_to_run_over_case_duplicates_and_names_them() -> None:
    migration = importlib.import_module("accounts.migrations.0003_username_ci_unique")
    constraint = next(
        c for c in User._meta.constraints if c.name == "accounts_user_username_ci_unique"
    )
    with connection.schema_editor() as editor:  # rolled back with the test's transaction
        editor.remove_constraint(User, constraint)
    User.objects.create(username="Dup", email="d1@example.com")
    User.objects.create(username="dUP", email="d2@example.com")
    User.objects.create(username="alone", email="d3@example.com")
    with pytest.raises(RuntimeError) as refused:
        migration.refuse_duplicates(apps, None)
    assert "Dup, dUP" in str(refused.value)
    assert "alone" not in str(refused.value)


@pytest.mark.django_db
def test_the_admin_action_signs_users_out_everywhere() -> None:
    from django.test import Client

    admin_user = new_user(is_staff=True, is_superuser=True)
    user = new_user()
    pair = _pair(user)
    client = Client()
    client.force_login(admin_user)
    response = client.post(
        "/admin/accounts/user/",
        {"action": "sign_out_everywhere", "_selected_action": [user.pk]},
    )
    assert response.status_code == 302
    _dead(pair)
    _alive(_pair(admin_user))
