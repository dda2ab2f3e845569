"""Order admin: items inline, status history, and status edits through the order service."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest

from common.admin_forms import ServiceAdminMixin, ServiceForm

from .models import Order, OrderItem, OrderStatusChange
from .services import order_status_change


class OrderItemInline(admin.TabularInline):
    model = OrderItem
    extra = 0
    can_delete = False
    readonly_fields = ("product", "product_name", "unit_price", "quantity")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class OrderStatusChangeInline(admin.TabularInline):
    model = OrderStatusChange
    extra = 0
    can_delete = False
    readonly_fields = ("from_status", "to_status", "changed_by", "changed_at")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class OrderAdminForm(ServiceForm):
    """The status is changed by the order service: a transition it refuses is a form error."""

    class Meta:
        model = Order
        fields = ("status",)

    def apply(self) -> Model:
        if "status" not in self.changed_data:
            return self.instance
        return order_status_change(
            order_id=self.instance.pk, status=self.cleaned_data["status"], by=self.by
        )


@admin.register(Order)
class OrderAdmin(ServiceAdminMixin, admin.ModelAdmin):
    form = OrderAdminForm
    list_display = ("id", "customer", "status", "total", "created_at")
    list_filter = ("status",)
    search_fields = ("id", "customer__username", "customer__email")
    list_select_related = ("customer",)
    readonly_fields = ("customer", "total", "idempotency_key", "created_at", "updated_at")
    inlines = (OrderItemInline, OrderStatusChangeInline)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # orders are placed through checkout, which reserves stock


class ReadOnlyAdmin(admin.ModelAdmin):
    """History is written by the order service only; the admin shows it."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(OrderStatusChange)
class OrderStatusChangeAdmin(ReadOnlyAdmin):
    list_display = ("order", "from_status", "to_status", "changed_by", "changed_at")
    list_filter = ("to_status",)
    search_fields = ("order__id", "changed_by__username")
    list_select_related = ("order", "changed_by")


@admin.register(OrderItem)
class OrderItemAdmin(ReadOnlyAdmin):
    list_display = ("order", "product_name", "quantity", "unit_price")
    search_fields = ("order__id", "product_name")
    list_select_related = ("order",)
