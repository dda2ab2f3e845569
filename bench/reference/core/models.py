"""Models of the reference design: Category, Product, Order, OrderItem (users are Django's User)."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models

# Type declarations only (no runtime change): mypy's django plugin reads config.settings.test,
# which does not install this app, so it cannot add the default managers and the `<fk>_id`
# attributes itself; they are declared on each model below.


class Category(models.Model):
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=140, unique=True)

    objects: ClassVar[models.Manager[Category]] = models.Manager()

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name


class Product(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=220, unique=True)
    description = models.TextField(blank=True)
    price = models.DecimalField(max_digits=10, decimal_places=2)
    stock = models.IntegerField(default=0)
    is_active = models.BooleanField(default=True)
    category = models.ForeignKey(Category, on_delete=models.CASCADE, related_name="products")
    category_id: int

    objects: ClassVar[models.Manager[Product]] = models.Manager()

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class Order(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"
        PROCESSING = "processing"
        SHIPPED = "shipped"
        DELIVERED = "delivered"
        CANCELLED = "cancelled"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="orders"
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    total = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    user_id: int

    objects: ClassVar[models.Manager[Order]] = models.Manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Order {self.pk}"


class OrderItem(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items")
    product = models.ForeignKey(Product, on_delete=models.PROTECT)
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(max_digits=10, decimal_places=2)
    order_id: int
    product_id: int

    objects: ClassVar[models.Manager[OrderItem]] = models.Manager()

    def __str__(self) -> str:
        return f"{self.quantity} x {self.product_id}"
