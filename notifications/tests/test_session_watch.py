"""Session notices: written with the change that ends a user's rights, read back by the web
processes (the live stack's tests in test_revocation.py kill the channel layer around them)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from accounts.models import RevokedSession
from accounts.tests.factories import new_user
from notifications.models import SessionNotice
from notifications.selectors import session_notices_since
from notifications.services import session_notices_prune
from notifications.session_watch import latest_per_user

pytestmark = pytest.mark.django_db


def test_each_change_that_ends_rights_writes_its_notice_with_the_change():
    user, staff = new_user(), new_user(is_staff=True)
    since = timezone.now()  # after the factories' own saves
    user.is_active = False
    user.save()
    staff.is_staff = False
    staff.save(update_fields=["is_staff"])
    staff.save(update_fields=["last_login"])  # changes no right: no notice
    RevokedSession.objects.create(user=staff, sid="s1")
    assert session_notices_since(since=since, user_ids=[user.pk, staff.pk]) == [
        (user.pk, {"is_active": False, "is_staff": False, "token_key": user.token_key}),
        (staff.pk, {"is_active": True, "is_staff": False, "token_key": staff.token_key}),
        (staff.pk, {"sid": "s1"}),
    ]
    assert session_notices_since(since=since, user_ids=[0]) == []  # only the users asked for


def test_a_deleted_users_notice_outlives_the_user():
    user = new_user()
    user_id, since = user.pk, timezone.now()
    user.delete()
    assert session_notices_since(since=since, user_ids=[user_id]) == [
        (user_id, {"is_active": False})
    ]


def test_every_signed_out_session_applies_and_only_the_latest_rights():
    off = {"is_active": False, "is_staff": False, "token_key": "k"}
    back = {"is_active": True, "is_staff": False, "token_key": "k"}
    rows: list[tuple[int, dict[str, Any]]] = [
        (1, off),
        (1, {"sid": "a"}),
        (2, {"sid": "b"}),
        (1, back),
        (1, {"sid": "c"}),
    ]
    assert latest_per_user(rows) == {1: [{"sid": "a"}, {"sid": "c"}, back], 2: [{"sid": "b"}]}


def test_the_sweep_deletes_notices_no_process_reads_any_more():
    old = SessionNotice.objects.create(user_id=1, notice={"sid": "x"})
    SessionNotice.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(hours=2))
    fresh = SessionNotice.objects.create(user_id=1, notice={"sid": "y"})
    assert session_notices_prune() == 1
    assert list(SessionNotice.objects.values_list("pk", flat=True)) == [fresh.pk]
