"""The trigram indexes match the SQL the ORM emits for `search`, so PostgreSQL can use them."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.db import connection

from catalog.selectors import product_list
from catalog.tests.conftest import new_product
from conftest import fullstack

pytestmark = [fullstack, pytest.mark.django_db]


def test_a_search_is_served_by_both_trigram_indexes() -> None:
    new_product(name="Walnut desk", description="solid wood")
    # As staff: no is_active filter, whose B-tree index the planner may prefer on a tiny table.
    staff = SimpleNamespace(is_staff=True)
    sql, params = product_list(user=staff, search="walnut").query.sql_with_params()
    with connection.cursor() as cursor:
        # A tiny table would be scanned, or walked in created_at order: leave only bitmap scans.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "catalog_product_name_trgm" in plan, plan
    assert "catalog_product_description_trgm" in plan, plan


def test_search_finds_words_inside_names_and_descriptions_any_case() -> None:
    desk = new_product(name="Walnut desk", description="solid wood")
    shelf = new_product(name="Shelf", description="in WALNUT veneer")
    new_product(name="Chair", description="oak")
    found = product_list(user=None, search="walNut", ordering="name")
    assert list(found) == [shelf, desk]
