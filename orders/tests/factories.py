"""Orders for tests, placed through the checkout service so stock and history stay consistent."""

from __future__ import annotations

from typing import Any

from accounts.tests.factories import new_user  # noqa: F401 - for the tests
from catalog.models import Product
from catalog.tests.factories import new_product  # noqa: F401 - for the tests
from orders.models import Order
from orders.services import order_create


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
