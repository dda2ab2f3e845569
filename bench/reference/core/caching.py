"""The product list's per-URL cache keys; a version bump invalidates every cached page."""

from __future__ import annotations

import time

from django.core.cache import cache

VERSION_KEY = "product_list:version"
TIMEOUT = 60 * 15  # seconds a cached page lives


def product_list_key(full_path: str) -> str:
    version = cache.get_or_set(VERSION_KEY, time.time_ns, timeout=None)
    return f"product_list:{version}:{full_path}"


def invalidate_product_list() -> None:
    try:
        cache.incr(VERSION_KEY)
    except ValueError:  # no version yet: nothing was cached under the old one
        cache.set(VERSION_KEY, time.time_ns(), timeout=None)
