"""Project configuration: settings, root URLs, the ASGI app and the one NinjaAPI."""

# Load the Celery app with Django so `shared_task`s bind to it (and to our broker settings).
from celery_app import app as celery_app

__all__ = ("celery_app",)
