"""Notifications router: the caller's order events, newest first, to catch up after a drop."""

# No `from __future__ import annotations`: ninja reads these signatures at import time.

from ninja import Query, Router
from ninja.pagination import paginate

from accounts.auth import AuthedRequest, jwt_auth
from config.pagination import Pagination
from config.schemas import errors

from . import selectors
from .schemas import EventFilters, OrderEventOut

router = Router(tags=["notifications"], auth=jwt_auth)


@router.get("/notifications/", response={200: list[OrderEventOut], **errors(401, 422)})
@paginate(Pagination)
def event_list(request: AuthedRequest, filters: Query[EventFilters]):
    return selectors.event_list(user=request.auth, after=filters.after)
