"""Accounts router: register, JWT obtain/refresh/verify/blacklist, sign out everywhere,
password change, and the caller."""

# No `from __future__ import annotations`: ninja reads these signatures at import time.

from ninja import Router, Status

from config.errors import DomainError
from config.schemas import errors

from . import selectors, services
from .auth import AuthedRequest, jwt_auth
from .schemas import (
    MessageOut,
    PasswordChangeIn,
    RefreshIn,
    RegisterIn,
    TokenObtainIn,
    TokenPairOut,
    UserOut,
    VerifyIn,
)
from .throttles import ClientIPThrottle

router = Router(tags=["accounts"])


@router.post(
    "/register/",
    response={201: UserOut, **errors(400, 409, 422, 429)},
    throttle=[ClientIPThrottle("register")],
    auth=None,
)
def register(request: AuthedRequest, payload: RegisterIn):
    user = services.user_register(
        username=payload.username, password=payload.password, email=payload.email
    )
    return Status(201, user)


@router.post(
    "/token/",
    response={200: TokenPairOut, **errors(400, 401, 422, 429)},
    throttle=[ClientIPThrottle("login")],
    auth=None,
)
def token_obtain(request: AuthedRequest, payload: TokenObtainIn):
    return services.token_obtain(username=payload.username, password=payload.password)


@router.post(
    "/token/refresh/",
    response={200: TokenPairOut, **errors(400, 401, 422, 429)},
    throttle=[ClientIPThrottle("refresh")],
    description=(
        "Rotates: the old refresh token is blacklisted. A session (a token family) ends "
        "JWT_SESSION_MAX_DAYS after sign-in however often it is rotated (401 "
        "`session_expired`). Presenting a refresh token that was already rotated revokes its "
        "whole session, access tokens included (401 `token_reused`)."
    ),
    auth=None,
)
def token_refresh(request: AuthedRequest, payload: RefreshIn):
    return services.token_refresh(refresh=payload.refresh)


@router.post("/token/verify/", response={200: MessageOut, **errors(400, 401, 422)}, auth=None)
def token_verify(request: AuthedRequest, payload: VerifyIn):
    if not selectors.token_is_valid(payload.token):
        raise DomainError("Token is invalid or expired.", code="token_invalid", status=401)
    return {"detail": "Token is valid."}


@router.post("/token/blacklist/", response={200: MessageOut, **errors(400, 401, 422)}, auth=None)
def token_blacklist(request: AuthedRequest, payload: RefreshIn):
    services.token_blacklist(refresh=payload.refresh)
    return {"detail": "Signed out."}


@router.post(
    "/token/revoke-all/",
    response={200: MessageOut, **errors(401)},
    auth=jwt_auth,
    description="Sign out everywhere: every access and refresh token of the caller stops working.",
)
def token_revoke_all(request: AuthedRequest):
    services.user_sessions_revoke_all(user=request.auth)
    return {"detail": "Signed out everywhere."}


@router.post(
    "/password/",
    response={200: TokenPairOut, **errors(400, 401, 422, 429)},
    throttle=[ClientIPThrottle("password")],
    auth=jwt_auth,
    description=(
        "Change the caller's password (the old one is required). Every session of the user "
        "ends, this one included; the answer is a new pair to carry on with."
    ),
)
def password_change(request: AuthedRequest, payload: PasswordChangeIn):
    return services.password_change(
        user=request.auth, old_password=payload.old_password, new_password=payload.new_password
    )


@router.get("/me/", response={200: UserOut, **errors(401)}, auth=jwt_auth)
def me(request: AuthedRequest):
    return request.auth
