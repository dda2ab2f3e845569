"""App config for catalog."""

from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "catalog"
