"""ASGI entry point: Django (on a thread pool) for HTTP, Channels for the `ws/orders/` WebSocket."""

from __future__ import annotations

import gc
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

import django

django.setup(set_prefix=False)

from django.conf import settings  # noqa: E402

from web.handlers import ThreadPoolASGIHandler  # noqa: E402

django_asgi_app = ThreadPoolASGIHandler(threads=settings.WEB_THREADS)

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import get_resolver, reverse  # noqa: E402

from catalog.models import Category, Product  # noqa: E402
from notifications.auth import AllowedHostsOrigin, JWTAuthMiddleware  # noqa: E402
from notifications.routing import websocket_urlpatterns  # noqa: E402
from web.edge_cache import CatalogEdgeCache  # noqa: E402
from web.edges import Edges  # noqa: E402

# The catalog's anonymous reads, from the routers config.api mounts for them, kept while the
# catalog models' tables are unchanged.
catalog_edge_cache = CatalogEdgeCache(
    django_asgi_app,
    paths=[reverse("api:category_list"), reverse("api:product_list")],
    tables=[Category._meta.db_table, Product._meta.db_table],
)
application = ProtocolTypeRouter(
    {
        "http": Edges(catalog_edge_cache),
        "websocket": AllowedHostsOrigin(JWTAuthMiddleware(URLRouter(websocket_urlpatterns))),
    }
)

# Import every route now rather than on the first request, then move all of it (settings, models,
# routers, schemas: alive for the whole process) out of the cyclic GC's reach. Without this a
# full collection walks them all and stalls the event loop for 30-50 ms, which is the p99.
get_resolver().url_patterns  # noqa: B018
gc.freeze()
