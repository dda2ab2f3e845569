"""The API's one pagination: page numbers, bounded so no query string can overflow OFFSET.

Every list answers `items` and `count` (the total) and, for a front end's pager, the `page` it
is, the `page_size` used, the number of `pages`, and the `next` and `previous` pages as paths
with the caller's own filters kept (relative, so a cached page is right on any host), or null.
"""

from __future__ import annotations

import math
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Field, Schema
from ninja.pagination import PageNumberPagination

MAX_PAGE = 100_000


class PageQuery(Schema):
    page: int = Field(1, ge=1, le=MAX_PAGE)
    page_size: int | None = Field(None, ge=1, le=100)


class Page(Schema):
    items: list[Any]
    count: int = Field(description="How many items match, over all pages.")
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
        count = self._items_count(queryset)
        pages = math.ceil(count / page_size)
        return {
            "items": queryset[offset : offset + page_size],
            "count": count,
            "page": page,
            "page_size": page_size,
            "pages": pages,
            "next": _page_path(request, page + 1) if page < pages else None,
            "previous": _page_path(request, min(page - 1, pages)) if page > 1 and pages else None,
        }
