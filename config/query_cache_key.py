"""cachalot's query key (CACHALOT_QUERY_KEYGEN), refusing early the queries it would not cache."""

from __future__ import annotations

from typing import Any

from cachalot.utils import UncachableQuery, get_query_cache_key, is_cachable


def query_cache_key(compiler: Any) -> str:
    """cachalot's own key for a query, or UncachableQuery before any SQL is compiled.

    cachalot compiles a query's SQL to make its key before it finds out that the query touches
    a table it does not cache. Most queries outside the catalog (users, tokens, orders: a whole
    checkout) are of that kind, so refuse them first, by the same rules cachalot applies after:
    a locking read, or a main table that is not cachable, makes the whole query uncachable.
    """
    query = compiler.query
    meta = query.get_meta()
    if query.select_for_update or (meta is not None and not is_cachable(meta.db_table)):
        raise UncachableQuery
    return str(get_query_cache_key(compiler))
