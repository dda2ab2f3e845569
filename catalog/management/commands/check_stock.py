"""`manage.py check_stock`: every product's stock must equal the sum of its stock movements."""

from __future__ import annotations

import sys
from typing import Any

from cachalot.api import cachalot_disabled
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Max, Min
from tqdm import tqdm

from catalog.models import Product
from catalog.selectors import stock_discrepancies


class Command(BaseCommand):
    help = (
        "Verify that each product's stock equals the sum of its stock ledger. Exits non-zero "
        "and names the products that break it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch", type=int, default=10_000, help="products per query")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args: Any, **opts: Any) -> None:
        with cachalot_disabled():  # the truth, not a cached copy
            bounds = Product.objects.aggregate(low=Min("pk"), high=Max("pk"))
            low, high = bounds["low"] or 0, bounds["high"] or -1
            broken: list[tuple[int, str, int, int]] = []
            batch = max(1, opts["batch"])
            with tqdm(
                total=high - low + 1,
                desc="check_stock",
                unit="id",
                disable=opts["no_progress"],
                file=sys.stderr,
            ) as bar:
                for start in range(low, high + 1, batch):
                    broken += stock_discrepancies(pk_from=start, pk_to=start + batch)
                    bar.update(min(batch, high + 1 - start))
            checked = Product.objects.count()
        for pk, name, stock, ledger in broken:
            self.stderr.write(
                f"product {pk} ({name}): stock {stock}, ledger sum {ledger} "
                f"(difference {stock - ledger:+d})"
            )
        if broken:
            raise CommandError(
                f"{len(broken)} of {checked} products have stock that is not the sum of their "
                "stock movements."
            )
        self.stdout.write(
            self.style.SUCCESS(f"Stock matches the ledger for all {checked} products.")
        )
