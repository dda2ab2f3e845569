"""Test settings: only overrides of `base`."""

from __future__ import annotations

from .base import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
AUTH_THROTTLE_RATE = "10000/min"
