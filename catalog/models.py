"""Catalog models; stock and price invariants are database constraints."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models

# Bounds the columns can hold, which the schemas and the order total are derived from.
PRICE_MAX_DIGITS = 10
MAX_PRICE = Decimal(10 ** (PRICE_MAX_DIGITS - 2)) - Decimal("0.01")
# What staff may set or adjust stock to (a returned sale may go past it; the column holds more).
MAX_STOCK = 1_000_000


class Category(models.Model):
    name = models.CharField(max_length=120, unique=True)
    slug = models.SlugField(max_length=140, unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name


class Product(models.Model):
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="products")
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=220, unique=True)
    description = models.TextField(blank=True, default="")
    price = models.DecimalField(max_digits=PRICE_MAX_DIGITS, decimal_places=2)
    # Changed only by catalog.stock, which writes a StockMovement for every change.
    stock = models.IntegerField(default=0)
    is_active = models.BooleanField(default=True)
    # Bumped by every edit of the fields above stock (not by sales): the product's ETag.
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(stock__gte=0), name="catalog_product_stock_non_negative"
            ),
            models.CheckConstraint(
                condition=models.Q(price__gt=0), name="catalog_product_price_positive"
            ),
        ]
        indexes = [models.Index(fields=["is_active", "category", "price"])]

    def __str__(self) -> str:
        return self.name


class StockMovementKind(models.TextChoices):
    OPENING = "opening", "Opening stock"
    SALE = "sale", "Sale"
    CANCELLATION = "cancellation", "Returned by a cancellation"
    ADJUSTMENT = "adjustment", "Adjustment"
    COUNT = "count", "Stock count"


class StockMovement(models.Model):
    """One change of a product's stock: the ledger whose sum is the stock (`check_stock`)."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="movements")
    kind = models.CharField(max_length=16, choices=StockMovementKind.choices)
    delta = models.IntegerField()
    stock_after = models.IntegerField()
    reason = models.CharField(max_length=200, blank=True, default="")
    order = models.ForeignKey(
        "orders.Order", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["product", "-id"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(stock_after__gte=0),
                name="catalog_movement_stock_after_non_negative",
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=StockMovementKind.values),
                name="catalog_movement_kind_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product_id}: {self.delta:+d} -> {self.stock_after} ({self.kind})"
