"""Fixtures shared by the config tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.test import override_settings

FRONT_END = "http://localhost:3000"  # a browser front end on another origin


@pytest.fixture
def front_end_allowed() -> Iterator[None]:
    with override_settings(CORS_ALLOWED_ORIGINS=[FRONT_END]):
        yield
