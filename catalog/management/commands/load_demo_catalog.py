"""Load a demo catalog (idempotent: existing slugs are left as they are), with a progress bar."""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from tqdm import tqdm

from catalog.models import Category, Product
from catalog.stock import stock_open

CATEGORIES = [
    "Books",
    "Electronics",
    "Garden",
    "Kitchen",
    "Music",
    "Outdoors",
    "Sports",
    "Toys",
    "Clothing",
    "Beauty",
]
ADJECTIVES = [
    "Classic",
    "Compact",
    "Deluxe",
    "Eco",
    "Handmade",
    "Pro",
    "Smart",
    "Travel",
    "Vintage",
    "Wireless",
]


class Command(BaseCommand):
    help = "Create demo categories and products; running it again adds nothing twice."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--categories", type=int, default=len(CATEGORIES))
        parser.add_argument("--per-category", type=int, default=10)
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args: Any, **opts: Any) -> None:
        n_categories = max(1, min(opts["categories"], 1000))
        per_category = max(0, min(opts["per_category"], 10_000))
        rng = random.Random(42)  # noqa: S311 - demo data, the same on every machine
        created = 0
        total = n_categories * per_category
        with tqdm(
            total=total, desc="demo catalog", unit="product", disable=opts["no_progress"]
        ) as bar:
            for c in range(n_categories):
                name = CATEGORIES[c] if c < len(CATEGORIES) else f"Category {c + 1}"
                with transaction.atomic():
                    category, _ = Category.objects.get_or_create(
                        slug=name.lower().replace(" ", "-"), defaults={"name": name}
                    )
                    wanted = [f"{category.slug}-{i + 1}" for i in range(per_category)]
                    existing = set(
                        Product.objects.filter(slug__in=wanted).values_list("slug", flat=True)
                    )
                    new = [
                        Product(
                            category=category,
                            slug=slug,
                            name=f"{rng.choice(ADJECTIVES)} {name.rstrip('s')} {i + 1}",
                            description=f"A demo {name.lower()} item.",
                            price=Decimal(rng.randrange(199, 19999)) / 100,
                            stock=rng.randrange(0, 100),
                        )
                        for i, slug in enumerate(wanted)
                        if slug not in existing
                    ]
                    stock_open(products=Product.objects.bulk_create(new))
                created += len(new)
                bar.update(per_category)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo catalog ready: {created} products added, {total - created} already there."
            )
        )
