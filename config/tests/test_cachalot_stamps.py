"""cachalot's stamp keys, pinned: the catalog edge cache and the retried invalidations read and
write them directly, so an upgrade that changes their format must fail here, not serve stale
pages."""

from __future__ import annotations

from django.core.cache import caches

from catalog.models import Product
from config.cachalot_stamps import all_stamp_keys, stamp_key


def test_a_tables_stamp_key_is_the_sha1_of_alias_and_table() -> None:
    # sha1("default:catalog_product"), as django-cachalot 2.9 makes it
    assert stamp_key("catalog_product") == "17715ddcfe1379d7cd8367b833159752bc4a041b"


def test_every_models_table_has_a_stamp_key() -> None:
    assert stamp_key(Product._meta.db_table) in all_stamp_keys()
    assert stamp_key("catalog_product", "other") not in all_stamp_keys()  # no such database


def test_a_write_to_a_table_changes_its_stamp_under_that_key(transactional_db: object) -> None:
    # transactional: cachalot writes a stamp to the cache when the write commits
    from catalog.tests.factories import new_product

    before = caches["default"].get(stamp_key("catalog_product"))
    new_product()
    after = caches["default"].get(stamp_key("catalog_product"))
    assert after is not None and after != before
