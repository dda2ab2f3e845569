"""App config; connects the signal handlers."""

from __future__ import annotations

from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "bench.reference.core"
    label = "core"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from bench.reference.core import signals  # noqa: F401 - connects the receivers
