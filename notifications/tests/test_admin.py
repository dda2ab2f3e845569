"""Admin: webhook endpoints go through the webhook services; dead deliveries can be listed."""

from __future__ import annotations

from typing import Any, cast

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import User
from accounts.tests.factories import StaffFactory
from notifications.models import WebhookEndpoint

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(db: Any) -> Client:
    client = Client()
    client.force_login(cast(User, StaffFactory(is_superuser=True)))
    return client


def add(client: Client, url: str) -> Any:
    return client.post(
        reverse("admin:notifications_webhookendpoint_add"),
        {"url": url, "events": ["order.created"], "description": "d", "is_active": "on"},
    )


def test_the_admin_registers_an_endpoint_with_a_secret(admin_client, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False

    response = add(admin_client, "https://93.184.215.14/hook")

    assert response.status_code == 302
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.secret.startswith("whsec_")
    assert endpoint.events == ["order.created"]
    page = admin_client.get(
        reverse("admin:notifications_webhookendpoint_change", args=[endpoint.pk])
    )
    assert page.status_code == 200


def test_the_admin_refuses_an_ssrf_url(admin_client, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False

    response = add(admin_client, "http://169.254.169.254/latest/meta-data/")

    assert response.status_code == 200  # the form again, with the error
    assert "link-local or metadata address" in response.content.decode()
    assert WebhookEndpoint.objects.count() == 0


@pytest.mark.parametrize(
    ("model", "query"),
    [
        ("orderevent", "socket=dead"),
        ("emaildelivery", "status__exact=dead"),
        ("webhookdelivery", "status__exact=dead"),
    ],
)
def test_dead_deliveries_are_listed(admin_client, model, query):
    response = admin_client.get(reverse(f"admin:notifications_{model}_changelist") + "?" + query)

    assert response.status_code == 200
