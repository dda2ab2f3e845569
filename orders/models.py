"""Order, its lines (price snapshots), and the record of every status change."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models

# Checkout's bounds. A line's quantity and the number of lines are ours to choose; the total is
# what Order.total can hold, so a dear order is refused with a 422 instead of overflowing.
MAX_QUANTITY = 1000
MAX_LINES = 100
TOTAL_MAX_DIGITS = 12
MAX_ORDER_TOTAL = Decimal(10 ** (TOTAL_MAX_DIGITS - 2)) - Decimal("0.01")


class OrderStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    PROCESSING = "processing", "Processing"
    SHIPPED = "shipped", "Shipped"
    DELIVERED = "delivered", "Delivered"
    CANCELLED = "cancelled", "Cancelled"


# The one transition table: forward moves (skipping ahead allowed) and cancellation early on.
TRANSITIONS: dict[str, frozenset[str]] = {
    OrderStatus.PENDING: frozenset(
        {OrderStatus.PROCESSING, OrderStatus.SHIPPED, OrderStatus.DELIVERED, OrderStatus.CANCELLED}
    ),
    OrderStatus.PROCESSING: frozenset(
        {OrderStatus.SHIPPED, OrderStatus.DELIVERED, OrderStatus.CANCELLED}
    ),
    OrderStatus.SHIPPED: frozenset({OrderStatus.DELIVERED}),
    OrderStatus.DELIVERED: frozenset(),
    OrderStatus.CANCELLED: frozenset(),
}


class Order(models.Model):
    # Indexes: only those in Meta, each serving a list as it is sorted (see there).
    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="orders", db_index=False
    )
    status = models.CharField(
        max_length=16, choices=OrderStatus.choices, default=OrderStatus.PENDING
    )
    total = models.DecimalField(max_digits=TOTAL_MAX_DIGITS, decimal_places=2)
    # NULL, not "", when absent: the unique (customer, key) constraint must ignore keyless orders.
    idempotency_key = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001
    # Hash of the items a key was first used with; reusing the key with other items is refused.
    request_fingerprint = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Set by checkout on the order it just wrote: its lines, so the response needs no re-read.
    created_items: list[OrderItem]

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "idempotency_key"],
                condition=models.Q(idempotency_key__isnull=False),
                name="orders_order_idempotency_key_unique",
            ),
            models.CheckConstraint(
                condition=models.Q(total__gte=0), name="orders_order_total_non_negative"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=OrderStatus.values), name="orders_order_status_valid"
            ),
        ]
        # The order lists, newest first: a customer's own, staff's (all, or one status). Each
        # index reads a page in order and stops; the customer one also serves the foreign key.
        indexes = [
            models.Index(fields=["customer", "-created_at", "-id"], name="orders_by_customer"),
            models.Index(fields=["-created_at", "-id"], name="orders_newest_first"),
            models.Index(fields=["status", "-created_at", "-id"], name="orders_by_status"),
        ]

    def __str__(self) -> str:
        return f"Order #{self.pk} ({self.status})"


class OrderItem(models.Model):
    # Served by the unique (order, product) index, which leads with the order.
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items", db_index=False)
    product = models.ForeignKey("catalog.Product", on_delete=models.PROTECT, related_name="+")
    product_name = models.CharField(max_length=200)
    unit_price = models.DecimalField(max_digits=10, decimal_places=2)
    quantity = models.PositiveIntegerField()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(quantity__gte=1), name="orders_item_quantity_positive"
            ),
            models.UniqueConstraint(
                fields=["order", "product"], name="orders_item_one_line_per_product"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.product_name}"


class OrderStatusChange(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="status_changes")
    from_status = models.CharField(max_length=16, choices=OrderStatus.choices, blank=True)
    to_status = models.CharField(max_length=16, choices=OrderStatus.choices)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    changed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["changed_at", "id"]

    def __str__(self) -> str:
        return f"#{self.order_id}: {self.from_status or '-'} -> {self.to_status}"
