"""Root URLs: the API under /api/ and the Django admin."""

from django.contrib import admin
from django.urls import path

from notifications.views import live

from .api import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("live/", live, name="live"),
]
