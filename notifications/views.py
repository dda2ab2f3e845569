"""The live order page: a static shell whose script signs in, lists orders and listens."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe


def _content_security_policy(request: HttpRequest) -> str:
    # Browsers do not let 'self' cover ws:/wss: everywhere yet, so the socket's own origin is
    # listed explicitly; get_host() is already checked against ALLOWED_HOSTS.
    host = request.get_host()
    return "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self'",
            f"connect-src 'self' ws://{host} wss://{host}",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        ]
    )


@require_safe
def live(request: HttpRequest) -> HttpResponse:
    response = render(request, "notifications/live.html")
    response["Content-Security-Policy"] = _content_security_policy(request)
    response["Referrer-Policy"] = "no-referrer"
    response["Cache-Control"] = "no-store"
    return response
