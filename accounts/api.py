"""Accounts router: register, JWT obtain/refresh/verify/blacklist, sign out everywhere,
password change, and the caller."""

# No `from __future__ import annotations`: ninja reads these signatures at import time.

from ninja import Router, Status

from common.errors import NotAuthenticated
from common.schemas import errors

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
    summary="Register a customer account",
    auth=None,
)
def register(request: AuthedRequest, payload: RegisterIn):
    """Create a customer account; sign in with `POST /api/token/` afterwards.

    Anyone may call it (no token); throttled per client address. Django's password rules
    apply (not too common, not all digits, not like the username). Errors: 400 `bad_request`
    (unparsable body), 409 `username_taken`, `email_taken` or `user_exists`, 422
    `validation_error` (a field's type, pattern or length, or a password rule), 429 `throttled`.
    """
    user = services.user_register(
        username=payload.username, password=payload.password, email=payload.email
    )
    return Status(201, user)


@router.post(
    "/token/",
    response={200: TokenPairOut, **errors(400, 401, 422, 429)},
    throttle=[ClientIPThrottle("login")],
    summary="Sign in (obtain a token pair)",
    auth=None,
)
def token_obtain(request: AuthedRequest, payload: TokenObtainIn):
    """Sign in: a new session's access token (send it as `Authorization: Bearer <access>`)
    and refresh token.

    Anyone may call it; throttled per client address and per username. Errors: 400
    `bad_request`, 401 `invalid_credentials`, 422 `validation_error`, 429 `throttled`.
    """
    return services.token_obtain(username=payload.username, password=payload.password)


@router.post(
    "/token/refresh/",
    response={200: TokenPairOut, **errors(400, 401, 422, 429, 503)},
    throttle=[ClientIPThrottle("refresh")],
    summary="Refresh the token pair",
    description=(
        "Rotates: the old refresh token is blacklisted and a new pair returned. A session (a "
        "token family) ends JWT_SESSION_MAX_DAYS after sign-in however often it is rotated (401 "
        "`session_expired`). Presenting a refresh token that was already rotated revokes its "
        "whole session, access tokens included (401 `token_reused`). Anyone holding the refresh "
        "token may call it; throttled per client address. Errors: 400 `bad_request`, 401 "
        "`token_invalid`, `token_revoked`, `session_expired` or `token_reused`, 422 "
        "`validation_error`, 429 `throttled`, 503 `retry`."
    ),
    auth=None,
)
def token_refresh(request: AuthedRequest, payload: RefreshIn):
    return services.token_refresh(refresh=payload.refresh)


@router.post(
    "/token/verify/",
    response={200: MessageOut, **errors(400, 401, 422)},
    auth=None,
    summary="Check a token",
)
def token_verify(request: AuthedRequest, payload: VerifyIn):
    """Whether a token (access or refresh) is still good: well signed, unexpired, of an
    active user, and its session not signed out.

    Anyone may call it. Errors: 400 `bad_request`, 401 `token_invalid`, 422 `validation_error`.
    """
    if not selectors.token_is_valid(payload.token):
        raise NotAuthenticated("Token is invalid or expired.", code="token_invalid")
    return {"detail": "Token is valid."}


@router.post(
    "/token/blacklist/",
    response={200: MessageOut, **errors(400, 401, 422, 503)},
    auth=None,
    summary="Sign out (this session)",
)
def token_blacklist(request: AuthedRequest, payload: RefreshIn):
    """Sign out: the refresh token is blacklisted and its session's access tokens stop working.

    Anyone holding the refresh token may call it (no access token needed). Errors: 400
    `bad_request`, 401 `token_invalid` or `token_revoked`, 422 `validation_error`, 503
    `retry` (the sign-out could not be recorded: try again).
    """
    services.token_blacklist(refresh=payload.refresh)
    return {"detail": "Signed out."}


@router.post(
    "/token/revoke-all/",
    response={200: MessageOut, **errors(401)},
    auth=jwt_auth,
    summary="Sign out everywhere",
    description=(
        "Every access and refresh token of the caller stops working, on every device. Any "
        "signed-in user. Errors: 401 `not_authenticated`, `token_invalid` or `token_revoked`."
    ),
)
def token_revoke_all(request: AuthedRequest):
    services.user_sessions_revoke_all(user=request.auth)
    return {"detail": "Signed out everywhere."}


@router.post(
    "/password/",
    response={200: TokenPairOut, **errors(400, 401, 422, 429)},
    throttle=[ClientIPThrottle("password")],
    auth=jwt_auth,
    summary="Change the password",
    description=(
        "Change the caller's password (the old one is required). Every session of the user "
        "ends, this one included; the answer is a new pair to carry on with. Any signed-in "
        "user; throttled per client address and per username. Errors: 400 `bad_request` or "
        "`wrong_password`, 401 `not_authenticated`, `token_invalid` or `token_revoked`, 422 "
        "`validation_error` (a password rule), 429 `throttled`."
    ),
)
def password_change(request: AuthedRequest, payload: PasswordChangeIn):
    return services.password_change(
        user=request.auth, old_password=payload.old_password, new_password=payload.new_password
    )


@router.get(
    "/me/", response={200: UserOut, **errors(401)}, auth=jwt_auth, summary="The caller's account"
)
def me(request: AuthedRequest):
    """The account behind the access token.

    Any signed-in user. Errors: 401 `not_authenticated`, `token_invalid` or `token_revoked`.
    """
    return request.auth
