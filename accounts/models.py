"""User model (e-mail unique regardless of case) and revoked sign-in sessions."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models.functions import Lower


class User(AbstractUser):
    class Meta:
        constraints = [
            models.UniqueConstraint(
                Lower("email"),
                name="accounts_user_email_ci_unique",
                condition=~models.Q(email=""),
            ),
        ]


class RevokedSession(models.Model):
    """A sign-in session ended by logout: its access tokens stop working at once.

    Every refresh token (and the access tokens minted from it, and its rotations) carries the
    `sid` claim of the sign-in that created it. Blacklisting alone would only stop the refresh
    token; access tokens would live until they expire.
    """

    sid = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="revoked_sessions")
    revoked_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"session {self.sid} of {self.user_id}"
