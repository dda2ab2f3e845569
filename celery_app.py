"""The Celery app (`celery -A celery_app worker`, `celery -A celery_app beat`)."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

app = Celery("shop")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_finalize.connect
def _schedule_outbox_sweep(sender: Celery, **kwargs: object) -> None:
    from django.conf import settings

    sender.add_periodic_task(
        settings.CELERY_OUTBOX_SWEEP_SECONDS,
        sender.signature("notifications.tasks.sweep_order_events"),
        name="re-send undelivered order events",
    )
