"""Who may write: staff changes products and order statuses, anyone may read the catalog."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import SAFE_METHODS, BasePermission


class IsAdminOrReadOnly(BasePermission):
    def has_permission(self, request: Any, view: Any) -> bool:
        return bool(request.method in SAFE_METHODS or (request.user and request.user.is_staff))
