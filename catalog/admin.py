"""Catalog admin: edits go through the catalog services; stock changes only through the ledger."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from common.admin_forms import ServiceAdminMixin, ServiceForm

from . import services, stock
from .models import MAX_STOCK, Category, Product, StockMovement

RECENT_MOVEMENTS = 20


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ("name", "slug")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}


class ProductForm(ServiceForm):
    # The version the page was opened at: saving a page someone else saved since is refused.
    seen_version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Product
        fields = ("name", "category", "description", "price", "is_active", "stock")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["seen_version"].initial = self.instance.version
        if "stock" in self.fields:  # adding: the opening stock, the ledger's first movement
            self.fields["stock"] = forms.IntegerField(
                min_value=0, max_value=MAX_STOCK, initial=0, label="Opening stock"
            )

    def apply(self) -> Model:
        data = self.cleaned_data
        fields = {
            "name": data["name"],
            "description": data["description"],
            "price": data["price"],
            "category_id": data["category"].pk,
            "is_active": data["is_active"],
        }
        if self.instance.pk is None:
            return services.product_create(**fields, stock=data["stock"], by=self.by)
        seen = data.get("seen_version")
        return services.product_update(
            product=self.instance,
            data=fields,
            if_versions=None if seen is None else frozenset({seen}),
        )


@admin.register(Product)
class ProductAdmin(ServiceAdminMixin, admin.ModelAdmin):
    form = ProductForm
    list_display = ("name", "category", "price", "stock", "is_active", "updated_at")
    list_filter = ("category", "is_active")
    search_fields = ("name", "description", "slug")
    list_select_related = ("category",)
    save_as = False

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        editable = ["name", "category", "description", "price", "is_active"]
        if obj is None:
            return [*editable, "stock"]
        return [*editable, "slug", "stock", "version", "recent_movements", "seen_version"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return () if obj is None else ("slug", "stock", "version", "recent_movements")

    @admin.display(description="Stock movements")
    def recent_movements(self, product: Product) -> str:
        movements = StockMovement.objects.filter(product=product).select_related(
            "order", "created_by"
        )[:RECENT_MOVEMENTS]
        adjust = reverse("admin:catalog_stockmovement_add") + f"?product={product.pk}"
        everything = (
            reverse("admin:catalog_stockmovement_changelist") + f"?product__id__exact={product.pk}"
        )
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    m.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                    m.get_kind_display(),
                    f"{m.delta:+d}",
                    m.stock_after,
                    m.reason or (f"order #{m.order_id}" if m.order_id else ""),
                    m.created_by or "",
                )
                for m in movements
            ),
        )
        return format_html(
            '<p><a class="button" href="{}">Adjust or count stock</a> '
            '<a href="{}">All movements</a></p>'
            "<table><thead><tr><th>When</th><th>Kind</th><th>Change</th><th>Stock after</th>"
            "<th>Reason</th><th>By</th></tr></thead><tbody>{}</tbody></table>",
            adjust,
            everything,
            rows,
        )


class StockChangeForm(ServiceForm):
    """Adding a movement in the admin is a stock adjustment or count, through catalog.stock."""

    DELTA, COUNT = "delta", "set"
    operation = forms.ChoiceField(
        choices=[(DELTA, "Adjust by (+ receive, - write off)"), (COUNT, "Set to a counted value")]
    )
    amount = forms.IntegerField(min_value=-MAX_STOCK, max_value=MAX_STOCK)

    class Meta:
        model = StockMovement
        fields = ("product", "operation", "amount", "reason")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "reason" in self.fields:
            self.fields["reason"].required = True

    def apply(self) -> Model:
        data = self.cleaned_data
        if data["operation"] == self.DELTA:
            return stock.stock_adjust(
                product_id=data["product"].pk,
                delta=data["amount"],
                reason=data["reason"],
                by=self.by,
            )
        return stock.stock_count(
            product_id=data["product"].pk,
            quantity=data["amount"],
            reason=data["reason"],
            by=self.by,
        )


@admin.register(StockMovement)
class StockMovementAdmin(ServiceAdminMixin, admin.ModelAdmin):
    """The ledger, read-only; "add" is the adjustment form."""

    form = StockChangeForm
    list_display = (
        "created_at",
        "product",
        "kind",
        "delta",
        "stock_after",
        "order",
        "reason",
        "created_by",
    )
    list_filter = ("kind",)
    search_fields = ("product__name", "reason", "order__id")
    list_select_related = ("product", "order", "created_by")
    autocomplete_fields = ("product",)
    LEDGER_FIELDS = (
        "product",
        "kind",
        "delta",
        "stock_after",
        "reason",
        "order",
        "created_by",
        "created_at",
    )

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return (
            self.LEDGER_FIELDS if obj is not None else ("product", "operation", "amount", "reason")
        )

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.LEDGER_FIELDS if obj is not None else ()

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
