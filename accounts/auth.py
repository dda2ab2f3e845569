"""Request authentication and staff checks shared by every router."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest
from ninja.security import HttpBearer

from common.errors import NotAuthenticated, PermissionDenied

from .models import User
from .selectors import user_from_access_token
from .throttles import (
    ClientIPThrottle as ClientIPThrottle,
)  # its home was here: keep imports working


class BearerAuth(HttpBearer):
    """`Authorization: Bearer <access>`; a bad token is a 401 with the reason.

    One class for required and optional authentication, because ninja names the OpenAPI
    security scheme after the class: the schema then has one bearer scheme, and an optional
    operation lists it beside "no authentication" (common.schemas.OPTIONAL_AUTH).
    """

    openapi_bearerFormat = "JWT"
    openapi_description = "The `access` token from `POST /api/token/` (or a refresh of it)."

    def __init__(self, *, optional: bool = False) -> None:
        super().__init__()
        # Public endpoints: anonymous without a header, but a header that is sent must be valid.
        self.optional = optional

    def __call__(self, request: HttpRequest) -> Any:
        if self.optional and not request.headers.get("Authorization"):
            return AnonymousUser()
        result = super().__call__(request)
        if self.optional and result is None:  # a header that is not "Bearer <token>"
            raise NotAuthenticated("Authorization header must be 'Bearer <token>'.")
        return result

    def authenticate(self, request: HttpRequest, token: str) -> User:
        user = user_from_access_token(token)
        request.user = user
        return user


class AuthedRequest(HttpRequest):
    """What routers receive: ninja sets `auth` to what the auth class returned."""

    auth: Any


jwt_auth = BearerAuth()
optional_jwt_auth = BearerAuth(optional=True)


def require_staff(user: Any) -> User:
    if not getattr(user, "is_staff", False):
        raise PermissionDenied("Only staff may do this.", code="staff_only")
    return user
