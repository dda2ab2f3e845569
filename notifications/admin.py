"""Admin for the outbox and its channels: events, e-mails, webhook endpoints and deliveries.

Events and deliveries are read-only (written by the services); dead ones are found with the
"status"/"dead" filters. Endpoints are created and changed through the webhook services.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Model, QuerySet
from django.http import HttpRequest

from common.admin_forms import ServiceAdminMixin, ServiceForm

from . import webhooks
from .models import (
    EmailDelivery,
    EventType,
    OrderEvent,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class DeadFilter(admin.SimpleListFilter):
    title = "socket delivery"
    parameter_name = "socket"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("dead", "Dead"), ("pending", "Pending"), ("delivered", "Delivered")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "dead":
            return queryset.filter(dead_at__isnull=False)
        if self.value() == "pending":
            return queryset.filter(dead_at__isnull=True, delivered_at__isnull=True)
        if self.value() == "delivered":
            return queryset.filter(delivered_at__isnull=False)
        return queryset


@admin.register(OrderEvent)
class OrderEventAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "type",
        "order",
        "recipient",
        "old_status",
        "new_status",
        "changed_at",
        "delivered_at",
        "attempts",
        "dead_at",
    )
    list_filter = ("type", DeadFilter, "new_status")
    search_fields = ("order__id", "recipient__username", "uid")
    list_select_related = ("recipient",)


@admin.register(EmailDelivery)
class EmailDeliveryAdmin(ReadOnlyAdmin):
    list_display = ("id", "event", "recipient", "status", "attempts", "last_error", "created_at")
    list_filter = ("status",)
    search_fields = ("recipient", "event__uid")
    list_select_related = ("event",)


class WebhookAttemptInline(admin.TabularInline):
    model = WebhookAttempt
    extra = 0
    can_delete = False
    fields = ("number", "attempted_at", "status_code", "duration_ms", "error", "response_body")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "endpoint",
        "event",
        "status",
        "attempts",
        "last_status_code",
        "next_attempt_at",
        "last_error",
    )
    list_filter = ("status", "endpoint")
    search_fields = ("event__uid",)
    list_select_related = ("endpoint", "event")
    inlines = [WebhookAttemptInline]
    actions = ["retry"]

    @admin.action(description="Send the selected deliveries again")
    def retry(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        for delivery in queryset:
            webhooks.webhook_delivery_retry(
                endpoint_id=delivery.endpoint_id, delivery_id=delivery.pk
            )
        messages.success(request, f"{queryset.count()} deliveries queued again.")


class WebhookEndpointForm(ServiceForm):
    """Created and changed by the webhook services: an SSRF URL is a form error."""

    url = forms.URLField(max_length=2000, assume_scheme="https")
    events = forms.MultipleChoiceField(
        choices=EventType.choices, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = WebhookEndpoint
        fields = ("url", "events", "description", "is_active")

    def apply(self) -> Model:
        # Meta.fields as the admin rebuilt it also lists the read-only fields.
        data = {k: self.cleaned_data[k] for k in ("url", "events", "description", "is_active")}
        if self.instance.pk is None:
            return webhooks.webhook_endpoint_create(**data)
        changed = {k: v for k, v in data.items() if k in self.changed_data}
        return webhooks.webhook_endpoint_update(endpoint_id=self.instance.pk, **changed)


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ServiceAdminMixin, admin.ModelAdmin):
    form = WebhookEndpointForm
    list_display = (
        "id",
        "url",
        "events",
        "is_active",
        "consecutive_failures",
        "disabled_reason",
        "created_at",
    )
    list_filter = ("is_active",)
    readonly_fields = ("secret", "consecutive_failures", "disabled_at", "disabled_reason")
