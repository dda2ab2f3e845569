"""Signal handlers: product list cache invalidation and order status notifications."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from bench.reference.core.caching import invalidate_product_list
from bench.reference.core.models import Category, Order, Product
from bench.reference.core.notifications import notify_order_status


@receiver([post_save, post_delete], sender=Product)
@receiver([post_save, post_delete], sender=Category)
def catalog_changed(sender: Any, **kwargs: Any) -> None:
    invalidate_product_list()


@receiver(post_save, sender=Order)
def order_saved(sender: Any, instance: Order, created: bool, **kwargs: Any) -> None:
    if not created:
        notify_order_status(instance)
