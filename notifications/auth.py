"""WebSocket authentication: the JWT access token from the subprotocol header or `?token=`."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from channels.security.websocket import OriginValidator
from django.conf import settings
from django.contrib.auth.models import AnonymousUser

# Browsers: new WebSocket(url, ["jwt", accessToken]); we answer with "jwt" only, never the token.
SUBPROTOCOL = "jwt"


def _token_from(scope: dict[str, Any]) -> tuple[str | None, str | None]:
    """(token, subprotocol to answer with)."""
    protocols = list(scope.get("subprotocols") or [])
    if SUBPROTOCOL in protocols:
        i = protocols.index(SUBPROTOCOL)
        return (protocols[i + 1] if i + 1 < len(protocols) else None), SUBPROTOCOL
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    tokens = query.get("token")
    return (tokens[0] if tokens else None), None


class JWTAuthMiddleware:
    """Puts the token the client offered in the scope; the consumer checks it (it joins the
    user's revocation group first, so no revocation can slip between the check and the join)."""

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        token, subprotocol = _token_from(scope)
        scope = dict(scope, user=AnonymousUser(), access_token=token, subprotocol=subprotocol)
        return await self.app(scope, receive, send)


class AllowedHostsOrigin(OriginValidator):
    """Browsers send Origin and must match DJANGO_ALLOWED_HOSTS or CORS_ALLOWED_ORIGINS (the
    front ends admitted to the HTTP API, so one setting admits them to both); other clients
    send none."""

    def __init__(self, app: Any):
        super().__init__(app, [*settings.ALLOWED_HOSTS, *settings.CORS_ALLOWED_ORIGINS])

    def valid_origin(self, parsed_origin: Any) -> bool:
        if parsed_origin is None:
            return True
        return self.validate_origin(parsed_origin)
