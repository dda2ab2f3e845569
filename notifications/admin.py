"""Admin for the order-event outbox (read-only: events are written by the order service)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .models import OrderEvent


@admin.register(OrderEvent)
class OrderEventAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "order",
        "recipient",
        "old_status",
        "new_status",
        "changed_at",
        "delivered_at",
    )
    list_filter = ("new_status",)
    search_fields = ("order__id", "recipient__username")
    list_select_related = ("recipient",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
