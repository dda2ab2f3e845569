"""Order admin: items inline, status history, and status edits through the order service."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest

from config.errors import DomainError

from .models import TRANSITIONS, Order, OrderItem, OrderStatusChange
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


class OrderAdminForm(forms.ModelForm):
    class Meta:
        model = Order
        fields = ("status",)

    def clean_status(self) -> str:
        new = self.cleaned_data["status"]
        old = self.initial.get("status")
        if old is not None and new != old and new not in TRANSITIONS[old]:
            raise forms.ValidationError(f"An order cannot change from '{old}' to '{new}'.")
        return new


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    form = OrderAdminForm
    list_display = ("id", "customer", "status", "total", "created_at")
    list_filter = ("status",)
    search_fields = ("id", "customer__username", "customer__email")
    list_select_related = ("customer",)
    readonly_fields = ("customer", "total", "idempotency_key", "created_at", "updated_at")
    inlines = (OrderItemInline, OrderStatusChangeInline)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # orders are placed through checkout, which reserves stock

    def save_model(self, request: HttpRequest, obj: Order, form: Any, change: bool) -> None:
        if "status" not in form.changed_data:
            return
        new_status = obj.status
        try:
            order_status_change(order_id=obj.pk, status=new_status, by=request.user)
        except DomainError as exc:
            obj.refresh_from_db()
            self.message_user(request, str(exc.detail), level=messages.ERROR)
        else:
            obj.refresh_from_db()


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
