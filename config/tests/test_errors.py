"""The error catalogue is complete: every code the code base can raise is listed, under the
status it is answered with, so the OpenAPI enums never miss one a client can receive."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from config import edges, errors

ROOT = Path(__file__).resolve().parents[2]
APPS = ("accounts", "catalog", "orders", "notifications", "config")
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
