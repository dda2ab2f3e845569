"""Writes: registration, signing in, refresh-token rotation, signing out, password changes."""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from ninja_jwt.exceptions import TokenError
from ninja_jwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from ninja_jwt.tokens import RefreshToken
from ninja_jwt.utils import datetime_from_epoch

from common.errors import (
    Conflict,
    FieldInvalid,
    InvalidInput,
    NotAuthenticated,
    ServiceUnavailable,
)

from .models import RevokedSession, User
from .throttles import login_failure_record, login_failures_check


def _field_error(field: str, messages: list[str], kind: str) -> FieldInvalid:
    return FieldInvalid(field, messages, kind=kind)


def user_register(*, username: str, password: str, email: str) -> User:
    username = username.strip()
    email = email.strip()
    user = User(username=username, email=email)
    try:
        User.username_validator(username)
    except DjangoValidationError as exc:
        raise _field_error("username", list(exc.messages), "username_invalid") from None
    try:
        validate_email(email)
    except DjangoValidationError as exc:
        raise _field_error("email", list(exc.messages), "email_invalid") from None
    try:
        validate_password(password, user=user)
    except DjangoValidationError as exc:
        raise _field_error("password", list(exc.messages), "password_invalid") from None
    if User.objects.filter(username__iexact=username).exists():
        raise Conflict("A user with that username already exists.", code="username_taken")
    if User.objects.filter(email__iexact=email).exists():
        raise Conflict("A user with that email already exists.", code="email_taken")
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as exc:
        # Lost a race with a concurrent registration of the same name (in any case) or address:
        # the database's unique constraints decide, and say which one it was.
        diag = getattr(exc.__cause__, "diag", None)
        constraint = getattr(diag, "constraint_name", None) or ""
        if "username" in constraint:
            raise Conflict(
                "A user with that username already exists.", code="username_taken"
            ) from None
        if "email" in constraint:
            raise Conflict("A user with that email already exists.", code="email_taken") from None
        raise Conflict(
            "A user with that username or email already exists.", code="user_exists"
        ) from None
    return user


def _pair(refresh: RefreshToken) -> dict[str, str]:
    return {"access": str(refresh.access_token), "refresh": str(refresh)}


class _RefreshToken(RefreshToken):
    """A refresh token checked for signature, expiry and type, but not yet for the blacklist:
    `token_refresh` looks the blacklist up itself, under a lock, to tell reuse apart."""

    def check_blacklist(self) -> None:
        pass


def session_start(*, user: User) -> dict[str, str]:
    """A new sign-in session for a user already authenticated: a token family of its own (`sid`),
    the user's key (`tk`) and the moment the family ends however often it is rotated
    (`session_exp`). Signing in and changing a password end here; so does the bench, which signs
    in hundreds of customers sharing one password without checking it for each."""
    # ninja-jwt annotates for_user's cls as an instance type, which mypy rejects.
    refresh: RefreshToken = RefreshToken.for_user(user)  # type: ignore[misc,assignment]
    # Copied into every access token minted from it, and kept by every rotation.
    refresh["sid"] = uuid.uuid4().hex
    refresh["tk"] = user.token_key
    ends = refresh.current_time + timedelta(days=settings.JWT_SESSION_MAX_DAYS)
    refresh["session_exp"] = int(ends.timestamp())
    return _pair(refresh)


def token_obtain(*, username: str, password: str) -> dict[str, str]:
    login_failures_check(username=username)
    user = authenticate(username=username, password=password)
    if user is None or not user.is_active:
        login_failure_record(username=username)
        raise NotAuthenticated(
            "No active account found with the given credentials.", code="invalid_credentials"
        )
    return session_start(user=user)


def _open_refresh(raw: str, *, check_blacklist: bool = True) -> tuple[RefreshToken, User | None]:
    """The token and its user (None once deleted), or a 401 saying why it cannot be used."""
    try:
        refresh = RefreshToken(raw) if check_blacklist else _RefreshToken(raw)
    except TokenError as exc:
        raise NotAuthenticated(f"Refresh token is invalid: {exc}", code="token_invalid") from None
    sid = refresh.get("sid")
    if sid is None or RevokedSession.objects.filter(sid=sid).exists():
        raise NotAuthenticated("This session has been signed out.", code="token_revoked")
    user = User.objects.filter(pk=refresh.get("user_id")).first()
    if user is not None and refresh.get("tk") != user.token_key:
        raise NotAuthenticated("This session has been signed out.", code="token_revoked")
    return refresh, user


def _session_ended(refresh: RefreshToken) -> bool:
    ends = refresh.get("session_exp")
    return not isinstance(ends, int) or refresh.current_time.timestamp() >= ends


def _session_revoke(*, sid: str, user_id: int) -> None:
    try:
        with transaction.atomic():
            RevokedSession.objects.get_or_create(sid=sid, defaults={"user_id": user_id})
    except IntegrityError:
        raise ServiceUnavailable("Could not sign out, try again.", code="retry") from None


def token_refresh(*, refresh: str) -> dict[str, str]:
    """Rotate: the old refresh token is blacklisted and a new pair of the same family returned.

    The family (the sign-in session) keeps the end it was given at sign-in. Presenting a
    refresh token that was already rotated means two parties hold the family (one of them
    stole it): the whole family is revoked, its access tokens included.
    """
    with transaction.atomic():
        token, user = _open_refresh(refresh, check_blacklist=False)
        if user is None or not user.is_active:
            raise NotAuthenticated("User not found or inactive.", code="token_invalid")
        if _session_ended(token):
            raise NotAuthenticated(
                "This session has reached its maximum age; sign in again.",
                code="session_expired",
            )
        # Lock the old token's row so two concurrent refreshes cannot both rotate it.
        old = OutstandingToken.objects.select_for_update().filter(jti=token["jti"]).first()
        reused = old is not None and BlacklistedToken.objects.filter(token=old).exists()
        if not reused:
            token.blacklist()
            token.set_jti()
            token.set_exp()
            token.set_iat()
            OutstandingToken.objects.create(
                user=user,
                jti=token["jti"],
                token=str(token),
                created_at=token.current_time,
                expires_at=datetime_from_epoch(token["exp"]),
            )
            return _pair(token)
    _session_revoke(sid=token["sid"], user_id=user.pk)
    raise NotAuthenticated(
        "This refresh token was already used: every token of its session is revoked; "
        "sign in again.",
        code="token_reused",
    )


def token_blacklist(*, refresh: str) -> None:
    """Sign out: blacklist the refresh token and end its session's access tokens too."""
    with transaction.atomic():
        token, user = _open_refresh(refresh)
        if user is None:
            # Deleted with every token and session it had: nothing is left to sign out.
            raise NotAuthenticated("User not found.", code="token_invalid")
        token.blacklist()
    _session_revoke(sid=token["sid"], user_id=user.pk)


def user_sessions_revoke_all(*, user: User) -> None:
    """Sign out everywhere: a new key ends every token the user holds, access tokens too."""
    user.token_key_rotate()
    user.save(update_fields=["token_key"])


def password_change(*, user: User, old_password: str, new_password: str) -> dict[str, str]:
    """Change the password (the old one is required): every other session ends (the key
    changes with the password); the caller gets a new pair."""
    login_failures_check(username=user.username)
    if not user.check_password(old_password):
        login_failure_record(username=user.username)
        raise InvalidInput("Wrong password.", code="wrong_password")
    try:
        validate_password(new_password, user=user)
    except DjangoValidationError as exc:
        raise _field_error("new_password", list(exc.messages), "password_invalid") from None
    user.set_password(new_password)
    user.save(update_fields=["password"])  # and the new token key (User.save)
    return session_start(user=user)
