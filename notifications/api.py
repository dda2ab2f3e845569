"""Notifications router: the caller's order events (catch-up feed) and staff webhook endpoints."""

# No `from __future__ import annotations`: ninja reads these signatures at import time.

from ninja import Query, Router, Status
from ninja.pagination import paginate

from accounts.auth import AuthedRequest, jwt_auth, require_staff
from config.pagination import Pagination
from config.schemas import errors

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

router = Router(tags=["notifications"], auth=jwt_auth)


@router.get("/notifications/", response={200: list[OrderEventOut], **errors(401, 422)})
@paginate(Pagination)
def event_list(request: AuthedRequest, filters: Query[EventFilters]):
    return selectors.event_list(user=request.auth, after=filters.after)


@router.get("/notifications/dead/", response={200: list[DeadDeliveryOut], **errors(401, 403, 422)})
@paginate(Pagination)
def dead_list(request: AuthedRequest, filters: Query[DeadFilters]):
    """Deliveries that used up their attempts, per channel (staff only)."""
    require_staff(request.auth)
    return selectors.dead_list(channel=filters.channel)


@router.post(
    "/webhooks/",
    response={201: WebhookEndpointCreatedOut, **errors(400, 401, 403, 422)},
    tags=["webhooks"],
)
def webhook_create(request: AuthedRequest, payload: WebhookEndpointIn):
    require_staff(request.auth)
    return Status(201, webhooks.webhook_endpoint_create(**payload.dict()))


@router.get(
    "/webhooks/",
    response={200: list[WebhookEndpointOut], **errors(401, 403, 422)},
    tags=["webhooks"],
)
@paginate(Pagination)
def webhook_list(request: AuthedRequest):
    require_staff(request.auth)
    return selectors.webhook_endpoint_list()


@router.get(
    "/webhooks/{endpoint_id}/",
    response={200: WebhookEndpointOut, **errors(401, 403, 404, 422)},
    tags=["webhooks"],
)
def webhook_detail(request: AuthedRequest, endpoint_id: int):
    require_staff(request.auth)
    return selectors.webhook_endpoint_get(pk=endpoint_id)


@router.patch(
    "/webhooks/{endpoint_id}/",
    response={200: WebhookEndpointOut, **errors(400, 401, 403, 404, 422)},
    tags=["webhooks"],
)
def webhook_update(request: AuthedRequest, endpoint_id: int, payload: WebhookEndpointPatch):
    require_staff(request.auth)
    changes = {k: v for k, v in payload.dict(exclude_unset=True).items() if v is not None}
    return webhooks.webhook_endpoint_update(endpoint_id=endpoint_id, **changes)


@router.delete(
    "/webhooks/{endpoint_id}/",
    response={204: None, **errors(401, 403, 404, 422)},
    tags=["webhooks"],
)
def webhook_delete(request: AuthedRequest, endpoint_id: int):
    require_staff(request.auth)
    webhooks.webhook_endpoint_delete(endpoint_id=endpoint_id)
    return Status(204, None)


@router.get(
    "/webhooks/{endpoint_id}/deliveries/",
    response={200: list[WebhookDeliveryOut], **errors(401, 403, 404, 422)},
    tags=["webhooks"],
)
@paginate(Pagination)
def webhook_delivery_list(
    request: AuthedRequest, endpoint_id: int, filters: Query[DeliveryFilters]
):
    require_staff(request.auth)
    return selectors.webhook_delivery_list(endpoint_id=endpoint_id, status=filters.status)


@router.post(
    "/webhooks/{endpoint_id}/deliveries/{delivery_id}/retry/",
    response={202: WebhookDeliveryOut, **errors(401, 403, 404, 422)},
    tags=["webhooks"],
)
def webhook_delivery_retry(request: AuthedRequest, endpoint_id: int, delivery_id: int):
    require_staff(request.auth)
    webhooks.webhook_delivery_retry(endpoint_id=endpoint_id, delivery_id=delivery_id)
    return Status(202, selectors.webhook_delivery_get(endpoint_id=endpoint_id, pk=delivery_id))
