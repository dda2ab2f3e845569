"""factory_boy factories for categories and products."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, cast

import factory

from catalog.models import Category, Product
from catalog.stock import stock_open


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category

    name = factory.Sequence(lambda n: f"Category {n}")
    slug = factory.Sequence(lambda n: f"category-{n}")


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product
        skip_postgeneration_save = True

    category = factory.SubFactory(CategoryFactory)
    name = factory.Sequence(lambda n: f"Product {n}")
    slug = factory.Sequence(lambda n: f"product-{n}")
    description = "A fine thing."
    price = Decimal("10.00")
    stock = 10
    is_active = True

    @factory.post_generation
    def ledger(obj: Product, create: bool, extracted: object, **kwargs: object) -> None:
        """Its opening stock movement, as product_create writes it: stock == sum of the ledger."""
        if create:
            stock_open(products=[obj])


def new_category(**fields: Any) -> Category:
    """A saved category (typed, unlike the factory call)."""
    return cast(Category, CategoryFactory(**fields))


def new_product(**fields: Any) -> Product:
    """A saved product (typed, unlike the factory call)."""
    return cast(Product, ProductFactory(**fields))
