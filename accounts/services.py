"""Writes: registration, signing in, refresh-token rotation and signing out."""

from __future__ import annotations

import uuid

from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from ninja_jwt.exceptions import TokenError
from ninja_jwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from ninja_jwt.tokens import RefreshToken
from ninja_jwt.utils import datetime_from_epoch

from config.errors import Conflict, DomainError, InvalidInput

from .models import RevokedSession, User
from .selectors import NotAuthenticated


def _field_error(field: str, messages: list[str], kind: str) -> InvalidInput:
    return InvalidInput(
        [{"loc": ["body", field], "msg": m, "type": kind} for m in messages],
        code="validation_error",
        status=422,
    )


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
    except IntegrityError:
        # Lost a race with a concurrent registration of the same name or address.
        raise Conflict(
            "A user with that username or email already exists.", code="user_exists"
        ) from None
    return user


def _pair(refresh: RefreshToken) -> dict[str, str]:
    return {"access": str(refresh.access_token), "refresh": str(refresh)}


def token_obtain(*, username: str, password: str) -> dict[str, str]:
    user = authenticate(username=username, password=password)
    if user is None or not user.is_active:
        raise NotAuthenticated(
            "No active account found with the given credentials.", code="invalid_credentials"
        )
    # ninja-jwt annotates for_user's cls as an instance type, which mypy rejects.
    refresh: RefreshToken = RefreshToken.for_user(user)  # type: ignore[misc,assignment]
    refresh["sid"] = uuid.uuid4().hex  # copied into every access token minted from it
    return _pair(refresh)


def _open_refresh(raw: str) -> RefreshToken:
    try:
        refresh = RefreshToken(raw)  # verifies signature, expiry, type and the blacklist
    except TokenError as exc:
        raise NotAuthenticated(f"Refresh token is invalid: {exc}", code="token_invalid") from None
    sid = refresh.get("sid")
    if sid is None or RevokedSession.objects.filter(sid=sid).exists():
        raise NotAuthenticated("This session has been signed out.", code="token_revoked")
    return refresh


def token_refresh(*, refresh: str) -> dict[str, str]:
    """Rotate: the old refresh token is blacklisted and a new pair is returned."""
    with transaction.atomic():
        token = _open_refresh(refresh)
        user = User.objects.filter(pk=token.get("user_id"), is_active=True).first()
        if user is None:
            raise NotAuthenticated("User not found or inactive.", code="token_invalid")
        # Lock the old token's row so two concurrent refreshes cannot both rotate it.
        old = OutstandingToken.objects.select_for_update().filter(jti=token["jti"]).first()
        if old is not None and BlacklistedToken.objects.filter(token=old).exists():
            raise NotAuthenticated(
                "Refresh token is invalid: Token is blacklisted", code="token_invalid"
            )
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


def token_blacklist(*, refresh: str) -> None:
    """Sign out: blacklist the refresh token and end its session's access tokens too."""
    with transaction.atomic():
        token = _open_refresh(refresh)
        token.blacklist()
        try:
            RevokedSession.objects.get_or_create(
                sid=token["sid"], defaults={"user_id": token["user_id"]}
            )
        except IntegrityError:
            raise DomainError("Could not sign out, try again.", code="retry", status=503) from None
