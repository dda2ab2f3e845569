"""The demo admin is made once; its password is kept and never changed under the user."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from accounts.management.commands import ensure_demo_admin
from accounts.models import User

pytestmark = pytest.mark.django_db


@pytest.fixture
def kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settings: object) -> Path:
    path = tmp_path / ".demo-admin"
    monkeypatch.setattr(ensure_demo_admin, "password_file", lambda: path)
    monkeypatch.setattr(settings, "EMBEDDED", True)
    return path


def run() -> str:
    out = StringIO()
    call_command("ensure_demo_admin", stdout=out)
    return out.getvalue()


def test_made_once_then_shown_again_unchanged(kept: Path) -> None:
    first = run()
    password = kept.read_text().strip()
    assert kept.stat().st_mode & 0o777 == 0o600
    assert f"password: {password}" in first
    again = run()
    assert kept.read_text().strip() == password
    assert f"password: {password}" in again
    admin = User.objects.get(username="admin")
    assert (admin.is_staff, admin.is_superuser, admin.check_password(password)) == (
        True,
        True,
        True,
    )


def test_a_password_changed_in_the_admin_is_left_alone(kept: Path) -> None:
    run()
    admin = User.objects.get(username="admin")
    admin.set_password("Chosen-by-the-Admin-42")
    admin.save()
    out = run()
    assert "password changed since .demo-admin was written" in out
    assert "password:" not in out
    assert User.objects.get(username="admin").check_password("Chosen-by-the-Admin-42")


def test_an_admin_from_before_the_file_gets_a_password_once(kept: Path) -> None:
    User.objects.create_superuser("admin", "admin@example.com", "Old-Reset-Every-Run-1")
    run()
    password = kept.read_text().strip()
    assert User.objects.get(username="admin").check_password(password)
    assert run().count(password) == 1


def test_refused_off_the_embedded_default(kept: Path, settings: object) -> None:
    settings.EMBEDDED = False  # type: ignore[attr-defined]
    with pytest.raises(CommandError, match="createsuperuser"):
        run()
    assert not kept.exists()
