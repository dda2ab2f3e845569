"""Ninja schemas for the order-event feed and the webhook endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from ninja import Schema
from pydantic import ConfigDict, Field

from common.schemas import InputSchema

from .models import EmailDelivery, OrderEvent


class OrderEventOut(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 5012,
                    "type": "order.status_changed",
                    "order_id": 1001,
                    "old_status": "pending",
                    "new_status": "processing",
                    "changed_at": "2026-03-14T09:26:53Z",
                }
            ]
        }
    )

    id: int
    type: str
    order_id: int
    old_status: str
    new_status: str
    changed_at: datetime


class EventFilters(Schema):
    after: int | None = Field(
        default=None, ge=0, le=2**63 - 1, description="Only events with a larger id."
    )


EventName = Literal["order.created", "order.status_changed"]
DeliveryState = Literal["pending", "succeeded", "failed", "dead"]


class WebhookEndpointIn(InputSchema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "url": "https://erp.example.com/hooks",
                    "events": ["order.created", "order.status_changed"],
                    "description": "ERP sync",
                    "is_active": True,
                }
            ]
        }
    )

    url: str = Field(min_length=1, max_length=2000, examples=["https://erp.example.com/hooks"])
    events: list[EventName] = Field(min_length=1, max_length=2)
    description: str = Field(default="", max_length=500)
    is_active: bool = True


class WebhookEndpointPatch(InputSchema):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"is_active": True}, {"events": ["order.status_changed"]}]}
    )

    url: str | None = Field(default=None, min_length=1, max_length=2000)
    events: list[EventName] | None = Field(default=None, min_length=1, max_length=2)
    description: str | None = Field(default=None, max_length=500)
    is_active: bool | None = None


ENDPOINT_EXAMPLE: dict[str, Any] = {
    "id": 3,
    "url": "https://erp.example.com/hooks/shop",
    "events": ["order.created", "order.status_changed"],
    "description": "ERP order import",
    "is_active": True,
    "consecutive_failures": 0,
    "disabled_at": None,
    "disabled_reason": "",
    "created_at": "2026-11-24T17:08:21.800Z",
    "updated_at": "2026-11-24T17:08:21.800Z",
}


class WebhookEndpointOut(Schema):
    model_config = ConfigDict(json_schema_extra={"examples": [ENDPOINT_EXAMPLE]})

    id: int
    url: str
    events: list[str]
    description: str
    is_active: bool
    consecutive_failures: int
    disabled_at: datetime | None
    disabled_reason: str
    created_at: datetime
    updated_at: datetime


class WebhookEndpointCreatedOut(WebhookEndpointOut):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{**ENDPOINT_EXAMPLE, "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}]
        }
    )

    secret: str = Field(description="The signing secret (whsec_...): shown only in this answer.")


class WebhookAttemptOut(Schema):
    number: int
    attempted_at: datetime
    status_code: int | None
    duration_ms: int
    error: str
    response_body: str


class WebhookDeliveryOut(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 41,
                    "event_id": "5f0c6f1e-2a4b-4c8e-9d1a-7b3e2f1a0c9d",
                    "event_type": "order.created",
                    "status": "delivered",
                    "attempts": 2,
                    "next_attempt_at": None,
                    "last_status_code": 200,
                    "last_error": "",
                    "created_at": "2026-11-24T17:08:21.800Z",
                    "completed_at": "2026-11-24T17:08:27.120Z",
                    "log": [
                        {
                            "number": 1,
                            "attempted_at": "2026-11-24T17:08:21.900Z",
                            "status_code": 503,
                            "duration_ms": 41,
                            "error": "HTTP 503",
                            "response_body": "busy",
                        },
                        {
                            "number": 2,
                            "attempted_at": "2026-11-24T17:08:27.100Z",
                            "status_code": 200,
                            "duration_ms": 18,
                            "error": "",
                            "response_body": "",
                        },
                    ],
                }
            ]
        }
    )

    id: int
    event_id: UUID = Field(description="The webhook-id header of every attempt.")
    event_type: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str
    created_at: datetime
    completed_at: datetime | None
    log: list[WebhookAttemptOut]

    @staticmethod
    def resolve_event_id(obj: Any) -> UUID:
        return obj.event.uid

    @staticmethod
    def resolve_event_type(obj: Any) -> str:
        return obj.event.type

    @staticmethod
    def resolve_next_attempt_at(obj: Any) -> datetime | None:
        return obj.next_attempt_at if obj.status == "pending" else None

    @staticmethod
    def resolve_log(obj: Any) -> list[Any]:
        return list(obj.attempt_log.all())


class DeliveryFilters(Schema):
    status: DeliveryState | None = None


DeadChannel = Literal["socket", "email", "webhook"]


class DeadFilters(Schema):
    channel: DeadChannel = "webhook"


class DeadDeliveryOut(Schema):
    """A delivery that used up its attempts, on any channel; never retried by the sweep."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "channel": "webhook",
                    "id": 41,
                    "event_id": "5f0c6f1e-2a4b-4c8e-9d1a-7b3e2f1a0c9d",
                    "event_type": "order.status_changed",
                    "order_id": 42,
                    "target": "https://erp.example.com/hooks/shop",
                    "attempts": 8,
                    "last_error": "HTTP 503",
                    "dead_at": "2026-11-25T20:11:02.000Z",
                }
            ]
        }
    )

    channel: str
    id: int = Field(description="The OrderEvent (socket) or delivery id.")
    event_id: UUID
    event_type: str
    order_id: int
    target: str = Field(description="The e-mail address, the endpoint URL, or 'sockets'.")
    attempts: int
    last_error: str
    dead_at: datetime | None

    @staticmethod
    def _event(obj: Any) -> Any:
        return obj if isinstance(obj, OrderEvent) else obj.event

    @staticmethod
    def resolve_channel(obj: Any) -> str:
        if isinstance(obj, OrderEvent):
            return "socket"
        return "email" if isinstance(obj, EmailDelivery) else "webhook"

    @staticmethod
    def resolve_event_id(obj: Any) -> UUID:
        return DeadDeliveryOut._event(obj).uid

    @staticmethod
    def resolve_event_type(obj: Any) -> str:
        return DeadDeliveryOut._event(obj).type

    @staticmethod
    def resolve_order_id(obj: Any) -> int:
        return DeadDeliveryOut._event(obj).order_id

    @staticmethod
    def resolve_target(obj: Any) -> str:
        if isinstance(obj, OrderEvent):
            return "sockets"
        return obj.recipient if isinstance(obj, EmailDelivery) else obj.endpoint.url

    @staticmethod
    def resolve_last_error(obj: Any) -> str:
        return "" if isinstance(obj, OrderEvent) else obj.last_error

    @staticmethod
    def resolve_dead_at(obj: Any) -> datetime | None:
        return obj.dead_at if isinstance(obj, OrderEvent) else obj.completed_at
