"""Admin registrations."""

from __future__ import annotations

from django.contrib import admin

from bench.reference.core.models import Category, Order, OrderItem, Product

admin.site.register(Category)
admin.site.register(Product)
admin.site.register(Order)
admin.site.register(OrderItem)
