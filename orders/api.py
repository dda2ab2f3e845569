"""Orders router: checkout, scoped reads, staff status changes and the owner's cancel."""

# No `from __future__ import annotations`: ninja reads these signatures at import time.

from django.http import HttpResponse
from ninja import Header, Query, Router, Status
from ninja.pagination import paginate

from accounts.auth import AuthedRequest, jwt_auth, require_staff
from config.errors import DomainError
from config.metrics import checkout_outcome
from config.pagination import Pagination
from config.schemas import errors

from . import selectors, services
from .schemas import OrderIn, OrderListFilters, OrderOut, OrderStatusIn

router = Router(tags=["orders"], auth=jwt_auth)


@router.post("/orders/", response={200: OrderOut, 201: OrderOut, **errors(400, 401, 409, 422)})
def order_create(
    request: AuthedRequest,
    response: HttpResponse,
    payload: OrderIn,
    idempotency_key: str | None = Header(
        default=None,
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        pattern=r"^[\x21-\x7e]+$",  # visible ASCII: a UUID or any opaque token
        description="Retrying with the same key returns the first order instead of a new one.",
    ),
):
    try:
        order, created = services.order_create(
            customer=request.auth,
            lines=[(line.product_id, line.quantity) for line in payload.items],
            idempotency_key=idempotency_key,
        )
    except DomainError as refusal:
        checkout_outcome(refusal.code)
        raise
    checkout_outcome("created" if created else "replayed")
    if not created:
        response["Idempotent-Replayed"] = "true"
        order = selectors.order_get(user=request.auth, pk=order.pk)
    return Status(201 if created else 200, order)


@router.get("/orders/", response={200: list[OrderOut], **errors(401, 422)})
@paginate(Pagination)
def order_list(request: AuthedRequest, filters: Query[OrderListFilters]):
    return selectors.order_list(user=request.auth, status=filters.status)


@router.get("/orders/{order_id}/", response={200: OrderOut, **errors(401, 404, 422)})
def order_detail(request: AuthedRequest, order_id: int):
    return selectors.order_get(user=request.auth, pk=order_id)


@router.patch(
    "/orders/{order_id}/", response={200: OrderOut, **errors(400, 401, 403, 404, 409, 422)}
)
def order_status_update(request: AuthedRequest, order_id: int, payload: OrderStatusIn):
    require_staff(request.auth)
    services.order_status_change(order_id=order_id, status=payload.status, by=request.auth)
    return selectors.order_get(user=request.auth, pk=order_id)


@router.post("/orders/{order_id}/cancel/", response={200: OrderOut, **errors(401, 404, 409, 422)})
def order_cancel(request: AuthedRequest, order_id: int):
    services.order_cancel(order_id=order_id, by=request.auth)
    return selectors.order_get(user=request.auth, pk=order_id)
