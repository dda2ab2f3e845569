"""The error catalogue is complete: every code the code base can raise is listed, under the
status it is answered with, so the OpenAPI enums never miss one a client can receive."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, OperationalError
from django.test import RequestFactory

from common import errors
from config import api as api_module
from web import edges

ROOT = Path(__file__).resolve().parents[2]
APPS = ("accounts", "catalog", "orders", "notifications", "config", "common", "web")
ERROR_CLASSES = {
    name: cls
    for name, cls in vars(errors).items()
    if isinstance(cls, type) and issubclass(cls, errors.DomainError)
}


def _sources() -> list[Path]:
    return [
        path
        for app in APPS
        for path in (ROOT / app).rglob("*.py")
        if "tests" not in path.parts and "migrations" not in path.parts
    ]


def _raised_codes() -> list[tuple[str, str, int]]:
    """(where, code, status) of every error class constructed in the product's code."""
    found = []
    for path in _sources():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
                continue
            cls = ERROR_CLASSES.get(node.func.id)
            where = f"{path.relative_to(ROOT)}:{node.lineno}"
            if cls is not None:
                code = next((k.value for k in node.keywords if k.arg == "code"), None)
                if code is None:
                    found.append((where, str(cls.code), cls.status))
                else:
                    assert isinstance(code, ast.Constant), f"{where}: a code must be a literal"
                    found.append((where, str(code.value), cls.status))
            elif node.func.id == "_error" and len(node.args) == 4:  # config.api's handlers
                status, code = node.args[1], node.args[3]
                if isinstance(status, ast.Constant) and isinstance(code, ast.Constant):
                    found.append((where, str(code.value), int(str(status.value))))
    return found


RAISED = _raised_codes()


def test_the_scan_sees_the_raise_sites() -> None:
    assert len(RAISED) > 50
    assert {"insufficient_stock", "token_reused", "webhook_url_refused"} <= {
        c for _, c, _ in RAISED
    }


@pytest.mark.parametrize(("where", "code", "status"), RAISED, ids=[r[0] for r in RAISED])
def test_every_raised_code_is_in_the_catalogue_under_its_status(
    where: str, code: str, status: int
) -> None:
    assert errors.STATUS_OF_CODE.get(code) == status


def test_the_edges_answer_catalogued_codes() -> None:
    for status, code in edges._STATUS_CODES.items():
        assert errors.STATUS_OF_CODE[code] == status


def test_a_code_belongs_to_one_status() -> None:
    listed = [str(c) for codes in errors.CODES_BY_STATUS.values() for c in codes]
    assert len(listed) == len(set(listed))


def test_not_authenticated_moved_and_old_imports_still_work() -> None:
    from accounts.selectors import NotAuthenticated
    from accounts.throttles import Throttled

    assert NotAuthenticated is errors.NotAuthenticated
    assert Throttled is errors.Throttled


def test_a_field_refusal_has_the_shape_of_a_schema_422() -> None:
    exc = errors.FieldInvalid("url", "Refused.", code="webhook_url_refused")
    assert (exc.status, exc.code) == (422, "webhook_url_refused")
    assert exc.detail == [
        {"loc": ["body", "url"], "msg": "Refused.", "type": "webhook_url_refused"}
    ]


def _body(response: Any) -> dict[str, Any]:
    return json.loads(response.content)


def test_database_text_never_reaches_the_client() -> None:
    request = RequestFactory().post("/api/products/")
    request.request_id = "req-1"  # type: ignore[attr-defined]
    sql = 'duplicate key value violates unique constraint "catalog_product_slug_key"'
    unexpected = api_module.on_unexpected(request, IntegrityError(sql))
    assert (unexpected.status_code, _body(unexpected)) == (
        500,
        {"detail": "Internal server error.", "code": "server_error", "request_id": "req-1"},
    )
    down = api_module.on_database_unavailable(request, OperationalError("FATAL: " + sql))
    assert down.status_code == 503
    assert _body(down)["code"] == "service_unavailable"
    assert "constraint" not in down.content.decode()


def test_a_django_validation_error_is_a_typed_422() -> None:
    request = RequestFactory().post("/api/register/")
    response = api_module.on_django_validation_error(request, DjangoValidationError("Too short."))
    assert (response.status_code, _body(response)) == (
        422,
        {
            "detail": [{"loc": [], "msg": "Too short.", "type": "invalid"}],
            "code": "validation_error",
        },
    )
