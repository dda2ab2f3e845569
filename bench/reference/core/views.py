"""API endpoints as DRF ViewSets: the catalog (list cached per URL in Redis) and orders."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.db.models import F
from rest_framework import mixins, status, viewsets
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.permissions import IsAdminUser, IsAuthenticated
from rest_framework.response import Response

from bench.reference.core import caching
from bench.reference.core.models import Category, Order, OrderItem, Product
from bench.reference.core.permissions import IsAdminOrReadOnly
from bench.reference.core.serializers import (
    CategorySerializer,
    OrderCreateSerializer,
    OrderSerializer,
    ProductSerializer,
)


class OutOfStock(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "Insufficient stock."
    default_code = "out_of_stock"


class CategoryViewSet(viewsets.ModelViewSet):
    queryset = Category.objects.all()
    serializer_class = CategorySerializer
    permission_classes = [IsAdminOrReadOnly]


class ProductViewSet(viewsets.ModelViewSet):
    queryset = Product.objects.select_related("category").filter(is_active=True)
    serializer_class = ProductSerializer
    permission_classes = [IsAdminOrReadOnly]

    def list(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        key = caching.product_list_key(request.get_full_path())
        data = cache.get(key)
        if data is not None:
            return Response(data)
        response = super().list(request, *args, **kwargs)
        cache.set(key, response.data, caching.TIMEOUT)
        return response


def place_order(user: Any, lines: list[dict[str, int]]) -> Order:
    wanted: dict[int, int] = {}
    for line in lines:
        wanted[line["product_id"]] = wanted.get(line["product_id"], 0) + line["quantity"]
    with transaction.atomic():
        products = list(
            Product.objects.select_for_update().filter(pk__in=wanted, is_active=True).order_by("pk")
        )
        if len(products) != len(wanted):
            raise ValidationError({"items": ["Unknown or inactive product."]})
        for product in products:
            if product.stock < wanted[product.pk]:
                raise OutOfStock(f"Only {product.stock} of product {product.pk} left.")
        total = sum((p.price * wanted[p.pk] for p in products), Decimal("0"))
        order = Order.objects.create(user=user, total=total)
        items = []
        for product in products:
            quantity = wanted[product.pk]
            items.append(
                OrderItem(order=order, product=product, quantity=quantity, unit_price=product.price)
            )
            product.stock = F("stock") - quantity
            product.save(update_fields=["stock"])
        OrderItem.objects.bulk_create(items)
    return order


class OrderViewSet(
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = OrderSerializer
    permission_classes = [IsAuthenticated]

    def get_queryset(self) -> Any:
        orders = Order.objects.prefetch_related("items")
        user = self.request.user
        return orders if user.is_staff else orders.filter(user=user)

    def get_permissions(self) -> list[Any]:
        if self.action in ("update", "partial_update"):
            return [IsAdminUser()]
        return super().get_permissions()

    def create(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        payload = OrderCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        order = place_order(request.user, payload.validated_data["items"])
        return Response(OrderSerializer(order).data, status=status.HTTP_201_CREATED)
