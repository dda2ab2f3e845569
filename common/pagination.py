"""The API's one pagination: page numbers, bounded so no query string can overflow OFFSET.

Every list answers `items` and `count` (the total) and, for a front end's pager, the `page` it
is, the `page_size` used, the number of `pages`, and the `next` and `previous` pages as paths
with the caller's own filters kept (relative, so a cached page is right on any host), or null.

Counting is bounded: past COUNT_LIMIT matches, `count` says COUNT_LIMIT and `count_exact` is
false ("10,000+"), so a list over a million rows never pays for an exact COUNT(*) over all of
them; `pages` and `next` then reach as far as the count does.
"""

from __future__ import annotations

import math
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Field, Schema
from ninja.pagination import PageNumberPagination

MAX_PAGE = 100_000
COUNT_LIMIT = 10_000


class PageQuery(Schema):
    page: int = Field(1, ge=1, le=MAX_PAGE)
    page_size: int | None = Field(None, ge=1, le=100)


class Page(Schema):
    items: list[Any]
    count: int = Field(description="How many items match, over all pages (at most 10,000).")
    count_exact: bool = Field(description="False when more than `count` items match.")
    page: int
    page_size: int
    pages: int = Field(description="How many pages there are (0 when nothing matches).")
    next: str | None = Field(description="Path of the next page, or null on the last.")
    previous: str | None = Field(description="Path of the previous page, or null on the first.")


def _page_path(request: HttpRequest, page: int) -> str:
    query = request.GET.copy()
    query["page"] = str(page)
    return f"{request.path}?{query.urlencode()}"


class Pagination(PageNumberPagination):
    Input = PageQuery  # type: ignore[assignment]
    Output = Page  # type: ignore[assignment]

    def paginate_queryset(
        self, queryset: QuerySet[Any], pagination: Any, request: HttpRequest, **params: Any
    ) -> dict[str, Any]:
        page_size = self._get_page_size(pagination.page_size)
        page = pagination.page
        offset = (page - 1) * page_size
        # COUNT(*) over a subquery with a LIMIT: it stops after COUNT_LIMIT + 1 rows.
        counted = queryset.order_by()[: COUNT_LIMIT + 1].count()
        count = min(counted, COUNT_LIMIT)
        pages = math.ceil(count / page_size)
        return {
            "items": queryset[offset : offset + page_size],
            "count": count,
            "count_exact": counted <= COUNT_LIMIT,
            "page": page,
            "page_size": page_size,
            "pages": pages,
            "next": _page_path(request, page + 1) if page < pages else None,
            "previous": _page_path(request, min(page - 1, pages)) if page > 1 and pages else None,
        }
