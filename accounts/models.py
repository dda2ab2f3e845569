"""User model (username and e-mail unique regardless of case), its token key, revoked sessions."""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib.auth.hashers import check_password as check_hashed_password
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models.functions import Lower


def new_token_key() -> str:
    return secrets.token_hex(16)


class User(AbstractUser):
    # Every token carries this key (claim `tk`); changing it ends every session of the user at
    # once, access tokens included. It changes with the password, on any path (API, admin,
    # `changepassword`, a shell), and on "sign out everywhere".
    token_key = models.CharField(max_length=32, default=new_token_key, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                Lower("email"),
                name="accounts_user_email_ci_unique",
                condition=~models.Q(email=""),
            ),
            models.UniqueConstraint(
                Lower("username"),
                name="accounts_user_username_ci_unique",
                violation_error_message="A user with that username already exists.",
            ),
        ]

    _token_key_rotated = False

    def token_key_rotate(self) -> None:
        self.token_key = new_token_key()
        self._token_key_rotated = True

    def set_password(self, raw_password: str | None) -> None:
        super().set_password(raw_password)
        self.token_key_rotate()

    def set_unusable_password(self) -> None:
        super().set_unusable_password()
        self.token_key_rotate()

    def check_password(self, raw_password: str) -> bool:
        # Django re-hashes a password on sign-in when the hasher's parameters changed, through
        # set_password; that is not a password change and must not end the user's sessions.
        def rehash(raw: str) -> None:
            key = self.token_key
            super(User, self).set_password(raw)
            self.token_key = key
            self._password = None
            self.save(update_fields=["password"])

        return check_hashed_password(raw_password, self.password, rehash)

    async def acheck_password(self, raw_password: str) -> bool:
        from asgiref.sync import sync_to_async

        return await sync_to_async(self.check_password)(raw_password)

    def save(self, *args: Any, **kwargs: Any) -> None:
        update_fields = kwargs.get("update_fields")
        if self._token_key_rotated and update_fields is not None:
            kwargs["update_fields"] = {*update_fields, "token_key"}
        super().save(*args, **kwargs)
        self._token_key_rotated = False


class RevokedSession(models.Model):
    """A sign-in session ended by logout (or by reuse of a rotated refresh token): its access
    tokens stop working at once.

    Every refresh token (and the access tokens minted from it, and its rotations) carries the
    `sid` claim of the sign-in that created it: a session is one token family. Blacklisting
    alone would only stop the refresh token; access tokens would live until they expire.
    """

    sid = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="revoked_sessions")
    revoked_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"session {self.sid} of {self.user_id}"
