"""Load the bench catalog: the shape of the shop's `load_demo_catalog` (names, slugs, prices)."""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from bench.reference.core.catalog_names import ADJECTIVES, CATEGORIES
from bench.reference.core.models import Category, Product


class Command(BaseCommand):
    help = "Create categories x products for the bench (into an empty reference database)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--categories", type=int, default=10)
        parser.add_argument("--per-category", type=int, default=100)

    def handle(self, *args: Any, **opts: Any) -> None:
        rng = random.Random(42)
        for c in range(opts["categories"]):
            name = CATEGORIES[c] if c < len(CATEGORIES) else f"Category {c + 1}"
            category = Category.objects.create(name=name, slug=name.lower().replace(" ", "-"))
            Product.objects.bulk_create(
                Product(
                    category=category,
                    slug=f"{category.slug}-{i + 1}",
                    name=f"{rng.choice(ADJECTIVES)} {name.rstrip('s')} {i + 1}",
                    description=f"A demo {name.lower()} item.",
                    price=Decimal(rng.randrange(199, 19999)) / 100,
                    stock=rng.randrange(0, 100),
                )
                for i in range(opts["per_category"])
            )
        self.stdout.write(f"{Product.objects.count()} products in {Category.objects.count()}")
