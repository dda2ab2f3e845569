"""ASGI entry point: Django (on a thread pool) for HTTP, Channels for the `ws/orders/` WebSocket."""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

import django

django.setup(set_prefix=False)

from django.conf import settings  # noqa: E402

from config.handlers import ThreadPoolASGIHandler  # noqa: E402

django_asgi_app = ThreadPoolASGIHandler(threads=settings.WEB_THREADS)

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from catalog.edge_cache import CatalogEdgeCache  # noqa: E402
from notifications.auth import AllowedHostsOrigin, JWTAuthMiddleware  # noqa: E402
from notifications.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": CatalogEdgeCache(django_asgi_app),
        "websocket": AllowedHostsOrigin(JWTAuthMiddleware(URLRouter(websocket_urlpatterns))),
    }
)
