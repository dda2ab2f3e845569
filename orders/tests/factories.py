"""Orders for tests, placed through the checkout service so stock and history stay consistent."""

from __future__ import annotations

from typing import Any, cast

from accounts.models import User
from accounts.tests.factories import UserFactory
from catalog.models import Product
from catalog.tests.factories import ProductFactory
from orders.models import Order
from orders.services import order_create


def new_product(**fields: Any) -> Product:
    """A saved product (typed, unlike the factory call)."""
    return cast(Product, ProductFactory(**fields))


def new_user(**fields: Any) -> User:
    return cast(User, UserFactory(**fields))


def place_order(
    *, customer: Any, lines: list[tuple[Product, int]], key: str | None = None
) -> Order:
    """Check out `lines` of (product, quantity) as `customer`, exactly as the API does."""
    order, _ = order_create(
        customer=customer,
        lines=[(product.pk, quantity) for product, quantity in lines],
        idempotency_key=key,
    )
    return order
