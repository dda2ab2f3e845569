"""The one domain error type services raise; `config.api` maps it to HTTP once."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A refusal with a stable machine-readable `code` and an HTTP status."""

    status = 400
    code = "bad_request"

    def __init__(self, detail: Any, *, code: str | None = None, status: int | None = None):
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status


class NotFound(DomainError):
    status = 404
    code = "not_found"


class PermissionDenied(DomainError):
    status = 403
    code = "permission_denied"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class InvalidInput(DomainError):
    status = 400
    code = "invalid"


class PreconditionFailed(DomainError):
    """An `If-Match` that no longer matches: the resource changed since the client read it."""

    status = 412
    code = "precondition_failed"
