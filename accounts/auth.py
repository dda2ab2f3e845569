"""Request authentication, staff checks and per-IP throttles shared by every router."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest
from ninja.security import HttpBearer
from ninja.throttling import SimpleRateThrottle

from config.errors import PermissionDenied

from .models import User
from .selectors import NotAuthenticated, user_from_access_token


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


class ClientIPThrottle(SimpleRateThrottle):
    """Per client address, at the rate in AUTH_THROTTLE_RATE (read on each request)."""

    def __init__(self, scope: str):
        self.scope = scope
        super().__init__(rate=settings.AUTH_THROTTLE_RATE)

    def allow_request(self, request: HttpRequest) -> bool:
        if self.rate != settings.AUTH_THROTTLE_RATE:
            self.rate = settings.AUTH_THROTTLE_RATE
            self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request)

    def get_cache_key(self, request: HttpRequest) -> str | None:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
