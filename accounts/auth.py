"""Request authentication and staff checks shared by every router."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest
from ninja.security import HttpBearer

from config.errors import PermissionDenied

from .models import User
from .selectors import NotAuthenticated, user_from_access_token
from .throttles import (
    ClientIPThrottle as ClientIPThrottle,
)  # its home was here: keep imports working


class JWTBearer(HttpBearer):
    """`Authorization: Bearer <access>`; a bad token is a 401 with the reason."""

    def authenticate(self, request: HttpRequest, token: str) -> User:
        user = user_from_access_token(token)
        request.user = user
        return user


class OptionalJWTBearer(JWTBearer):
    """Public endpoints: anonymous without a header, but a header that is sent must be valid."""

    def __call__(self, request: HttpRequest) -> Any:
        if not request.headers.get("Authorization"):
            return AnonymousUser()
        result = super().__call__(request)
        if result is None:  # a header that is not "Bearer <token>"
            raise NotAuthenticated("Authorization header must be 'Bearer <token>'.")
        return result


class AuthedRequest(HttpRequest):
    """What routers receive: ninja sets `auth` to what the auth class returned."""

    auth: Any


jwt_auth = JWTBearer()
optional_jwt_auth = OptionalJWTBearer()


def require_staff(user: Any) -> User:
    if not getattr(user, "is_staff", False):
        raise PermissionDenied("Only staff may do this.", code="staff_only")
    return user
