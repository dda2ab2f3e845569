"""The core app's API routes."""

from __future__ import annotations

from rest_framework.routers import DefaultRouter

from bench.reference.core.views import CategoryViewSet, OrderViewSet, ProductViewSet

router = DefaultRouter()
router.register("categories", CategoryViewSet)
router.register("products", ProductViewSet)
router.register("orders", OrderViewSet, basename="order")

urlpatterns = router.urls
