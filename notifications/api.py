"""Notifications router: the caller's order events (catch-up feed) and staff webhook endpoints."""

# No `from __future__ import annotations`: ninja reads these signatures at import time.

from ninja import Query, Router, Status
from ninja.pagination import paginate

from accounts.auth import AuthedRequest, jwt_auth, require_staff
from common.pagination import Pagination
from common.schemas import errors

from . import selectors, webhooks
from .schemas import (
    DeadDeliveryOut,
    DeadFilters,
    DeliveryFilters,
    EventFilters,
    OrderEventOut,
    WebhookDeliveryOut,
    WebhookEndpointCreatedOut,
    WebhookEndpointIn,
    WebhookEndpointOut,
    WebhookEndpointPatch,
)

notifications_router = Router(tags=["notifications"], auth=jwt_auth)  # mounted at /notifications/
webhooks_router = Router(auth=jwt_auth)  # mounted at /webhooks/


@notifications_router.get(
    "/",
    response={200: list[OrderEventOut], **errors(401, 422)},
    summary="List my order events",
)
@paginate(Pagination)
def event_list(request: AuthedRequest, filters: Query[EventFilters]):
    """The catch-up feed of order events (created, status changes), newest first: what the
    WebSocket `ws/orders/` pushed, for a client that was offline. `after` gives only newer events.

    Any signed-in user sees the events of their own orders; staff see all. Errors: 401
    `not_authenticated`, `token_invalid` or `token_revoked`, 422 `validation_error`.
    """
    return selectors.event_list(user=request.auth, after=filters.after)


@notifications_router.get(
    "/dead/",
    response={200: list[DeadDeliveryOut], **errors(401, 403, 422)},
    summary="List dead deliveries",
)
@paginate(Pagination)
def dead_list(request: AuthedRequest, filters: Query[DeadFilters]):
    """Deliveries that used up their attempts, per channel (socket, email, webhook); the retry
    sweep no longer tries them.

    Staff only. Errors: 401 `not_authenticated`, `token_invalid` or `token_revoked`, 403
    `staff_only`, 422 `validation_error`.
    """
    require_staff(request.auth)
    return selectors.dead_list(channel=filters.channel)


@webhooks_router.post(
    "/",
    response={201: WebhookEndpointCreatedOut, **errors(400, 401, 403, 422)},
    tags=["webhooks"],
    summary="Register a webhook endpoint",
)
def webhook_create(request: AuthedRequest, payload: WebhookEndpointIn):
    """Subscribe a URL to order events; deliveries are signed (Standard Webhooks) with the
    secret in this answer, which is shown only once.

    Staff only. Errors: 400 `bad_request`, 401 `not_authenticated`, `token_invalid` or
    `token_revoked`, 403 `staff_only`, 422 `validation_error`, `webhook_url_refused` (not a
    public http(s) URL) or `webhook_events_invalid`.
    """
    require_staff(request.auth)
    return Status(201, webhooks.webhook_endpoint_create(**payload.dict()))


@webhooks_router.get(
    "/",
    response={200: list[WebhookEndpointOut], **errors(401, 403, 422)},
    tags=["webhooks"],
    summary="List webhook endpoints",
)
@paginate(Pagination)
def webhook_list(request: AuthedRequest):
    """Every webhook endpoint, oldest first, with its failure state.

    Staff only. Errors: 401 `not_authenticated`, `token_invalid` or `token_revoked`, 403
    `staff_only`, 422 `validation_error`.
    """
    require_staff(request.auth)
    return selectors.webhook_endpoint_list()


@webhooks_router.get(
    "/{endpoint_id}/",
    response={200: WebhookEndpointOut, **errors(401, 403, 404, 422)},
    tags=["webhooks"],
    summary="Get a webhook endpoint",
)
def webhook_detail(request: AuthedRequest, endpoint_id: int):
    """One webhook endpoint (without its secret).

    Staff only. Errors: 401 `not_authenticated`, `token_invalid` or `token_revoked`, 403
    `staff_only`, 404 `webhook_not_found`, 422 `validation_error`.
    """
    require_staff(request.auth)
    return selectors.webhook_endpoint_get(pk=endpoint_id)


@webhooks_router.patch(
    "/{endpoint_id}/",
    response={200: WebhookEndpointOut, **errors(400, 401, 403, 404, 422)},
    tags=["webhooks"],
    summary="Edit a webhook endpoint",
)
def webhook_update(request: AuthedRequest, endpoint_id: int, payload: WebhookEndpointPatch):
    """Change the fields given. Re-enabling a disabled endpoint clears its failure count and
    re-sends what it missed.

    Staff only. Errors: 400 `bad_request`, 401 `not_authenticated`, `token_invalid` or
    `token_revoked`, 403 `staff_only`, 404 `webhook_not_found`, 422 `validation_error`,
    `webhook_url_refused` or `webhook_events_invalid`.
    """
    require_staff(request.auth)
    changes = {k: v for k, v in payload.dict(exclude_unset=True).items() if v is not None}
    return webhooks.webhook_endpoint_update(endpoint_id=endpoint_id, **changes)


@webhooks_router.delete(
    "/{endpoint_id}/",
    response={204: None, **errors(401, 403, 404, 422)},
    tags=["webhooks"],
    summary="Delete a webhook endpoint",
)
def webhook_delete(request: AuthedRequest, endpoint_id: int):
    """Delete an endpoint and its delivery log; nothing more is sent to it.

    Staff only. Errors: 401 `not_authenticated`, `token_invalid` or `token_revoked`, 403
    `staff_only`, 404 `webhook_not_found`, 422 `validation_error`.
    """
    require_staff(request.auth)
    webhooks.webhook_endpoint_delete(endpoint_id=endpoint_id)
    return Status(204, None)


@webhooks_router.get(
    "/{endpoint_id}/deliveries/",
    response={200: list[WebhookDeliveryOut], **errors(401, 403, 404, 422)},
    tags=["webhooks"],
    summary="List an endpoint's deliveries",
)
@paginate(Pagination)
def webhook_delivery_list(
    request: AuthedRequest, endpoint_id: int, filters: Query[DeliveryFilters]
):
    """The deliveries to one endpoint, with each attempt's answer, optionally of one status.

    Staff only. Errors: 401 `not_authenticated`, `token_invalid` or `token_revoked`, 403
    `staff_only`, 404 `webhook_not_found`, 422 `validation_error`.
    """
    require_staff(request.auth)
    return selectors.webhook_delivery_list(endpoint_id=endpoint_id, status=filters.status)


@webhooks_router.post(
    "/{endpoint_id}/deliveries/{delivery_id}/retry/",
    response={202: WebhookDeliveryOut, **errors(401, 403, 404, 422)},
    tags=["webhooks"],
    summary="Retry a delivery",
)
def webhook_delivery_retry(request: AuthedRequest, endpoint_id: int, delivery_id: int):
    """Send one delivery again now, whatever its state, with a fresh attempt budget (the
    webhook-id stays the event's, so receivers deduplicate it).

    Staff only. Errors: 401 `not_authenticated`, `token_invalid` or `token_revoked`, 403
    `staff_only`, 404 `delivery_not_found`, 422 `validation_error`.
    """
    require_staff(request.auth)
    webhooks.webhook_delivery_retry(endpoint_id=endpoint_id, delivery_id=delivery_id)
    return Status(202, selectors.webhook_delivery_get(endpoint_id=endpoint_id, pk=delivery_id))
