"""ASGI entry point: Django for HTTP, Channels for the `ws/orders/` WebSocket."""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

from django.core.asgi import get_asgi_application

django_asgi_app = get_asgi_application()

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
