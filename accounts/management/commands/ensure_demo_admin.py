"""Create (or reset) the demo admin of the embedded default and print its password."""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.models import User


class Command(BaseCommand):
    help = "Embedded default only: make a superuser 'admin' with a fresh random password."

    def handle(self, *args: Any, **opts: Any) -> None:
        if not settings.EMBEDDED:
            raise CommandError(
                "Refusing: the demo admin exists only on the embedded default. "
                "Use `manage.py createsuperuser` against a real database."
            )
        password = secrets.token_urlsafe(12)
        user, _ = User.objects.get_or_create(
            username="admin", defaults={"email": "admin@example.com"}
        )
        user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()
        self.stdout.write(
            self.style.SUCCESS(f"Demo admin: username 'admin', password '{password}'")
        )
