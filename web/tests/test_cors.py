"""CORS for browser front ends in-process: preflights and answers on the API, and the WebSocket's
Origin check, which admits the same origins plus the allowed hosts.
"""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.test import Client, override_settings

from catalog.tests.conftest import new_product
from conftest import ApiClient
from web.tests.conftest import FRONT_END

# ---- CORS ------------------------------------------------------------------------------------


def _preflight(origin: str) -> Any:
    return Client().options(
        "/api/orders/",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type, idempotency-key",
        },
    )


@pytest.mark.django_db
def test_a_preflight_from_an_allowed_origin_is_answered(front_end_allowed: Any) -> None:
    response = _preflight(FRONT_END)
    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == FRONT_END
    allowed = {h.strip() for h in response["Access-Control-Allow-Headers"].split(",")}
    assert allowed == {"authorization", "content-type", "idempotency-key", "if-match"}
    assert "POST" in response["Access-Control-Allow-Methods"]


@pytest.mark.django_db
def test_a_preflight_from_another_origin_gets_no_allow_origin(front_end_allowed: Any) -> None:
    response = _preflight("http://evil.example")
    assert "Access-Control-Allow-Origin" not in response


@pytest.mark.django_db
def test_an_actual_request_exposes_the_api_headers_to_an_allowed_origin(
    front_end_allowed: Any, customer_api: ApiClient
) -> None:
    product = new_product(stock=3)
    order = {"items": [{"product_id": product.pk, "quantity": 1}]}
    headers = {"Origin": FRONT_END, "Idempotency-Key": "k-1"}
    customer_api.post("/api/orders/", order, headers=headers)
    replay = customer_api.post("/api/orders/", order, headers=headers)
    assert replay.status_code == 200
    assert replay["Access-Control-Allow-Origin"] == FRONT_END
    exposed = {h.strip() for h in replay["Access-Control-Expose-Headers"].split(",")}
    assert {"Idempotent-Replayed", "ETag", "Retry-After"} <= exposed
    other = customer_api.get("/api/orders/", headers={"Origin": "http://evil.example"})
    assert other.status_code == 200
    assert "Access-Control-Allow-Origin" not in other


# ---- the WebSocket origin check follows the CORS setting --------------------------------------


@pytest.mark.parametrize(
    ("origin", "admitted"),
    [
        pytest.param(FRONT_END, True, id="cors-allowed-origin"),
        pytest.param("http://localhost", True, id="allowed-host"),
        pytest.param("http://evil.example", False, id="other-origin"),
    ],
)
@pytest.mark.django_db(transaction=True)  # channels' denier closes old DB connections
def test_the_websocket_admits_cors_origins_and_allowed_hosts(origin: str, admitted: bool) -> None:
    from channels.testing import WebsocketCommunicator

    from notifications.auth import AllowedHostsOrigin

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.accept"})

    async def scenario() -> bool:
        guarded = AllowedHostsOrigin(app)
        socket = WebsocketCommunicator(
            guarded, "/ws/orders/", headers=[(b"origin", origin.encode())]
        )
        connected, _ = await socket.connect()
        await socket.disconnect()
        return bool(connected)

    with override_settings(CORS_ALLOWED_ORIGINS=[FRONT_END]):
        assert async_to_sync(scenario)() is admitted
