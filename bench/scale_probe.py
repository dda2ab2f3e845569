"""The catalog and order lists at a shop's size: load N products and N orders into a throwaway
PostgreSQL database with `generate_series`, then time the paths that grow with them.

    .venv/bin/python -m bench.scale_probe [--rows 1000000] [--no-trigram] [--keep]

Prints the median and max of 7 runs (cachalot off, so every run reaches PostgreSQL) for: a
search for a rare word (0.8% of products), for a word with no match and for a common word
(10%); the exact count of every active product against the capped count the API makes; and a
staff order-list page per status. `--no-trigram` drops the search indexes first, for the
figures without them. Needs PostgreSQL at 127.0.0.1:5432 (user postgres) and Redis.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parent.parent
DB = "shop_scale_probe"
PG = "postgres://postgres@127.0.0.1:5432"

PRODUCTS = """
INSERT INTO catalog_category (name, slug)
SELECT 'Category ' || g, 'category-' || g FROM generate_series(1, 20) g;
INSERT INTO catalog_product
  (category_id, name, slug, description, price, stock, is_active, version, created_at, updated_at)
SELECT (SELECT min(id) FROM catalog_category) + g % 20,
  (ARRAY['Classic','Compact','Deluxe','Eco','Handmade','Pro','Smart','Travel','Vintage',
         'Wireless'])[1 + g % 10] || ' ' ||
  (ARRAY['kettle','lamp','chair','mug','table','shirt','book','ball','drone','speaker'])
    [1 + (g / 10) % 10] || ' ' || g,
  'p-' || g,
  'A ' || md5(g::text) || ' item with ' || CASE WHEN g % 125 = 0 THEN 'walnut ' ELSE '' END
    || 'details',
  (g % 20000) / 100.0 + 1, g % 50, g % 20 <> 0, 1, now(), now()
FROM generate_series(1, %(rows)s) g;
INSERT INTO accounts_user (password, is_superuser, username, first_name, last_name, email,
  is_staff, is_active, date_joined, token_key)
SELECT '!', false, 'c' || g, '', '', 'c' || g || '@example.com', false, true, now(), md5(g::text)
FROM generate_series(1, 1000) g;
INSERT INTO orders_order
  (customer_id, status, total, idempotency_key, request_fingerprint, created_at, updated_at)
SELECT (SELECT min(id) FROM accounts_user) + g % 1000,
  CASE WHEN g <= 500 THEN 'processing'
       ELSE (ARRAY['pending','shipped','delivered','delivered','cancelled'])[1 + g % 5] END,
  10, NULL, '', now() - make_interval(secs => %(rows)s - g), now()
FROM generate_series(1, %(rows)s) g;
ANALYZE catalog_product; ANALYZE orders_order;
"""


def timed(run: Callable[[], Any]) -> str:
    samples = []
    for _ in range(7):
        started = time.perf_counter()
        run()
        samples.append((time.perf_counter() - started) * 1000)
    return f"p50 {statistics.median(samples):7.1f} ms, max {max(samples):7.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--no-trigram", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()

    env = dict(
        os.environ,
        DATABASE_URL=f"{PG}/{DB}",
        REDIS_URL=os.environ.get("SCALE_REDIS_URL", "redis://127.0.0.1:6379/3"),
        DJANGO_SECRET_KEY="scale-probe-" + "x" * 40,
        DJANGO_SETTINGS_MODULE="config.settings.base",
    )
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {DB}")
        admin.execute(f"CREATE DATABASE {DB}")
    try:
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True
        )
        print(f"loading {args.rows:,} products and {args.rows:,} orders ...", flush=True)
        with psycopg.connect(f"{PG}/{DB}", autocommit=True) as conn:
            conn.execute(PRODUCTS.replace("%(rows)s", str(int(args.rows))))
            if args.no_trigram:
                conn.execute("DROP INDEX catalog_product_name_trgm")
                conn.execute("DROP INDEX catalog_product_description_trgm")
        os.environ.update(env)
        import django

        django.setup()
        from cachalot.api import cachalot_disabled

        from catalog.selectors import product_list
        from common.pagination import COUNT_LIMIT
        from orders.selectors import order_list

        staff = SimpleNamespace(is_staff=True)
        with cachalot_disabled():
            for word in ("walnut", "zzqx", "lamp"):
                qs = product_list(user=None, search=word)
                took = timed(lambda qs=qs: (list(qs[:20]), qs.count()))
                print(f"search {word!r:9} page+count: {took}")
            active = product_list(user=None)
            print(f"count, exact:           {timed(active.count)}")
            capped = active.order_by()[: COUNT_LIMIT + 1]
            print(f"count, capped:          {timed(capped.count)}")
            for status in (None, "processing", "delivered", "cancelled"):
                orders = order_list(user=staff, status=status)
                took = timed(lambda orders=orders: list(orders[:20]))
                print(f"staff orders {status or 'all':10}: {took}")
    finally:
        if not args.keep:
            from django.db import connections

            connections.close_all()
            with psycopg.connect(f"{PG}/postgres", autocommit=True) as admin:
                admin.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")


if __name__ == "__main__":
    main()
