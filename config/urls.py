"""Root URLs: the API under /api/, the Django admin, health probes and metrics."""

from django.contrib import admin
from django.urls import path

from notifications.views import live
from web.health import healthz, readyz
from web.metrics import metrics_view

from .api import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("live/", live, name="live"),
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("metrics", metrics_view, name="metrics"),
]
