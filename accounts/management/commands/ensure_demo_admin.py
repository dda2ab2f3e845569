"""The demo admin of the embedded default: made once, its password kept beside the database."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.models import User

USERNAME = "admin"


def password_file() -> Path:
    """`.demo-admin` beside the SQLite file (git-ignored): the password goes with that database."""
    return Path(settings.DATABASES["default"]["NAME"]).resolve().parent / ".demo-admin"


class Command(BaseCommand):
    help = (
        "Embedded default only: make the superuser 'admin' once, keep its password in "
        ".demo-admin and show it; a password changed since (in the admin) is left alone."
    )

    def handle(self, *args: Any, **opts: Any) -> None:
        if not settings.EMBEDDED:
            raise CommandError(
                "Refusing: the demo admin exists only on the embedded default. "
                "Use `manage.py createsuperuser` against a real database."
            )
        path = password_file()
        kept = path.read_text().strip() if path.exists() else ""
        user = User.objects.filter(username=USERNAME).first()
        if user is not None and kept and not user.check_password(kept):
            self.stdout.write(
                f"Demo admin: '{USERNAME}', its password changed since {path.name} was written"
            )
            return
        if user is None:
            password = kept or secrets.token_urlsafe(12)
            User.objects.create_superuser(USERNAME, "admin@example.com", password)
        elif kept:
            password = kept
        else:  # made before the password was kept: give it one, once
            password = secrets.token_urlsafe(12)
            user.set_password(password)
            user.save()
        if password != kept:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(password + "\n")
        lines = [f"Demo admin  user: {USERNAME}", f"        password: {password}  ({path.name})"]
        width = max(len(line) for line in lines)
        rule = "+" + "-" * (width + 2) + "+"
        box = [rule, *(f"| {line.ljust(width)} |" for line in lines), rule]
        self.stdout.write(self.style.SUCCESS("\n".join(box)))
