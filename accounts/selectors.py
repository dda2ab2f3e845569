"""Reads: who is behind an access token, and whether a token is still good."""

from __future__ import annotations

from typing import Any, cast

from django.db import connection
from ninja_jwt.exceptions import TokenError
from ninja_jwt.tokens import AccessToken, UntypedToken

# NotAuthenticated lived here: the import keeps working.
from common.errors import NotAuthenticated as NotAuthenticated

from .models import RevokedSession, User


def access_token_decode(raw: str) -> AccessToken:
    """Signature, expiry and type only: no database (who it belongs to is checked apart)."""
    try:
        return AccessToken(raw)
    except TokenError as exc:
        raise NotAuthenticated(
            f"Access token is invalid or expired: {exc}", code="token_invalid"
        ) from None


def _user_and_session_sql() -> str:
    # Table names from the models' own metadata; the values go as parameters.
    users = connection.ops.quote_name(User._meta.db_table)
    revoked = connection.ops.quote_name(RevokedSession._meta.db_table)
    revoked_flag = f"EXISTS (SELECT 1 FROM {revoked} r WHERE r.sid = %s) AS session_revoked"  # noqa: S608
    return f"SELECT u.*, {revoked_flag} FROM {users} u WHERE u.id = %s AND u.is_active"  # noqa: S608


def user_from_access_token(raw: str) -> User:
    """The active user an access token belongs to; refuses expired, malformed and revoked ones.

    One query, the user row with whether the token's sign-in session was revoked, written as
    SQL: it runs on every authenticated request, and building it through the ORM (an Exists
    annotation) cost more than running it.
    """
    token = access_token_decode(raw)
    sid = token.get("sid")
    if sid is None:
        raise NotAuthenticated("This session has been signed out.", code="token_revoked")
    found = list(User.objects.raw(_user_and_session_sql(), [sid, token.get("user_id")]))
    if not found:
        raise NotAuthenticated("User not found or inactive.", code="token_invalid")
    user = found[0]
    # The token key rides on the user row this query loads anyway: checking it is free.
    if cast(Any, user).session_revoked or token.get("tk") != user.token_key:
        raise NotAuthenticated("This session has been signed out.", code="token_revoked")
    return user


def token_is_valid(raw: str) -> bool:
    """A well-signed, unexpired token (access or refresh) of an active user, whose session is
    still open and whose key is the user's current one."""
    try:
        token = UntypedToken(raw)
    except TokenError:
        return False
    sid, key = token.get("sid"), token.get("tk")
    if sid is None or key is None:
        return False
    if not User.objects.filter(pk=token.get("user_id"), is_active=True, token_key=key).exists():
        return False
    return not RevokedSession.objects.filter(sid=sid).exists()
