"""Trigram indexes that serve the catalog search on PostgreSQL.

`search` filters `name__icontains | description__icontains`, which Django renders as
`UPPER(col::text) LIKE UPPER('%word%')`: no B-tree serves a leading wildcard, so every search
scanned the whole table. A GIN index with `gin_trgm_ops` on exactly that expression does (for
words of three characters or more). SQLite, the embedded default, keeps its plain scan.

`pg_trgm` ships with PostgreSQL; creating it needs a role allowed to (the database owner on
PostgreSQL 13+, where it is a trusted extension).
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

INDEXES = {
    "catalog_product_name_trgm": "name",
    "catalog_product_description_trgm": "description",
}


def create(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, column in INDEXES.items():
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON catalog_product "
            f"USING gin ((UPPER({column}::text)) gin_trgm_ops)"
        )


def drop(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("catalog", "0002_stock_ledger")]
    operations = [migrations.RunPython(create, drop, elidable=False)]
