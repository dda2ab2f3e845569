"""WebSocket routes."""

from __future__ import annotations

from django.urls import path

from bench.reference.core.consumers import OrderStatusConsumer

websocket_urlpatterns = [path("ws/orders/", OrderStatusConsumer.as_asgi())]
