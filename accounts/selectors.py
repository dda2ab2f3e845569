"""Reads: who is behind an access token."""

from __future__ import annotations

from django.db.models import Exists
from ninja_jwt.exceptions import TokenError
from ninja_jwt.tokens import AccessToken, UntypedToken

from config.errors import DomainError

from .models import RevokedSession, User


class NotAuthenticated(DomainError):
    status = 401
    code = "not_authenticated"


def _decode_access(raw: str) -> AccessToken:
    try:
        return AccessToken(raw)
    except TokenError as exc:
        raise NotAuthenticated(
            f"Access token is invalid or expired: {exc}", code="token_invalid"
        ) from None


def user_from_access_token(raw: str) -> User:
    """The active user an access token belongs to; refuses expired, malformed and revoked ones.

    One query: the user row with whether the token's sign-in session was revoked.
    """
    token = _decode_access(raw)
    sid = token.get("sid")
    if sid is None:
        raise NotAuthenticated("This session has been signed out.", code="token_revoked")
    user = (
        User.objects.filter(pk=token.get("user_id"), is_active=True)
        .annotate(session_revoked=Exists(RevokedSession.objects.filter(sid=sid)))
        .first()
    )
    if user is None:
        raise NotAuthenticated("User not found or inactive.", code="token_invalid")
    if user.session_revoked:
        raise NotAuthenticated("This session has been signed out.", code="token_revoked")
    return user


def token_is_valid(raw: str) -> bool:
    """Any well-signed, unexpired token (access or refresh) whose session is still open."""
    try:
        token = UntypedToken(raw)
    except TokenError:
        return False
    sid = token.get("sid")
    return sid is not None and not RevokedSession.objects.filter(sid=sid).exists()
