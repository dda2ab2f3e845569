"""Orders router: checkout, scoped reads, staff status changes and the owner's cancel."""

# No `from __future__ import annotations`: ninja reads these signatures at import time.

from django.http import HttpResponse
from ninja import Header, Query, Router, Status
from ninja.pagination import paginate

from accounts.auth import AuthedRequest, jwt_auth, require_staff
from common.errors import DomainError
from common.pagination import Pagination
from common.schemas import IDEMPOTENT_REPLAYED_HEADER, errors, response_headers
from web.metrics import checkout_outcome

from . import selectors, services
from .schemas import OrderIn, OrderListFilters, OrderOut, OrderStatusIn

router = Router(tags=["orders"], auth=jwt_auth)  # mounted at /orders/


@router.post(
    "/",
    response={200: OrderOut, 201: OrderOut, **errors(400, 401, 409, 422)},
    openapi_extra=response_headers({"Idempotent-Replayed": IDEMPOTENT_REPLAYED_HEADER}, 200),
    summary="Place an order",
)
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
    """Checkout: the order is placed at the catalog's current prices and the stock taken, all or
    nothing; it never oversells. Repeated lines of one product are merged. With an
    `Idempotency-Key`, a retry answers 200 with the first order (and `Idempotent-Replayed: true`)
    instead of placing a second one.

    Any signed-in user, for themselves. Errors: 400 `bad_request`, `empty_order` or
    `product_unavailable`, 401 `not_authenticated`, `token_invalid` or `token_revoked`, 409
    `insufficient_stock`, `idempotency_key_reused`, `product_removed` or `catalog_changed` (try
    again), 422 `validation_error`, `invalid_quantity` or `order_total_too_large`.
    """
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


@router.get("/", response={200: list[OrderOut], **errors(401, 422)}, summary="List orders")
@paginate(Pagination)
def order_list(request: AuthedRequest, filters: Query[OrderListFilters]):
    """The caller's orders, newest first (staff see everyone's), optionally of one status.

    Any signed-in user. Errors: 401 `not_authenticated`, `token_invalid` or `token_revoked`, 422
    `validation_error`.
    """
    return selectors.order_list(user=request.auth, status=filters.status)


@router.get(
    "/{order_id}/", response={200: OrderOut, **errors(401, 404, 422)}, summary="Get an order"
)
def order_detail(request: AuthedRequest, order_id: int):
    """One order with its lines and total. Another customer's order is a 404, as if it did not
    exist.

    The order's owner, or staff. Errors: 401 `not_authenticated`, `token_invalid` or
    `token_revoked`, 404 `order_not_found`, 422 `validation_error`.
    """
    return selectors.order_get(user=request.auth, pk=order_id)


@router.patch(
    "/{order_id}/",
    response={200: OrderOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="Change an order's status",
)
def order_status_update(request: AuthedRequest, order_id: int, payload: OrderStatusIn):
    """Move an order along its lifecycle (pending, paid, shipped, delivered; cancelled returns
    the stock). Only the transitions of the order's state machine are allowed; each change is
    recorded and notified (WebSocket, e-mail, webhooks).

    Staff only. Errors: 400 `bad_request`, 401 `not_authenticated`, `token_invalid` or
    `token_revoked`, 403 `staff_only`, 404 `order_not_found`, 409 `invalid_transition`, 422
    `validation_error`.
    """
    require_staff(request.auth)
    order = services.order_status_change(order_id=order_id, status=payload.status, by=request.auth)
    return selectors.order_with_lines(order)


@router.post(
    "/{order_id}/cancel/",
    response={200: OrderOut, **errors(401, 404, 409, 422)},
    summary="Cancel my order",
)
def order_cancel(request: AuthedRequest, order_id: int):
    """The owner cancels their own order while it is still pending; its stock goes back to the
    catalog.

    The order's owner only (anyone else gets 404). Errors: 401 `not_authenticated`,
    `token_invalid` or `token_revoked`, 404 `order_not_found`, 409 `invalid_transition` (no
    longer pending), 422 `validation_error`.
    """
    order = services.order_cancel(order_id=order_id, by=request.auth)
    return selectors.order_with_lines(order)
