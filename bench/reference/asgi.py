"""ASGI entry point (uvicorn bench.reference.asgi:application): HTTP and ws/orders/."""

from __future__ import annotations

import os

from channels.routing import ProtocolTypeRouter, URLRouter
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.reference.settings")

django_asgi_app = get_asgi_application()  # sets Django up before the consumer's imports

from bench.reference.core.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": URLRouter(websocket_urlpatterns),
    }
)
