"""The OpenAPI schema documents every status the edges can answer, so clients and fuzzers agree.

Any operation that reads a JSON body answers 400 for a body it cannot parse and 422 for one that
does not validate; any operation behind a token answers 401. A new endpoint that forgets one of
these fails here rather than in `make fuzz`.
"""

from __future__ import annotations

from typing import Any

import pytest

from config.api import api

METHODS = {"get", "post", "put", "patch", "delete"}


def _operations() -> list[tuple[str, str, dict[str, Any]]]:
    schema = api.get_openapi_schema()
    return [
        (method.upper(), path, operation)
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        if method in METHODS
    ]


Operation = tuple[str, str, dict[str, Any]]
OPERATIONS = _operations()
WITH_BODY = [op for op in OPERATIONS if "requestBody" in op[2]]
WITH_TOKEN = [op for op in OPERATIONS if op[2].get("security")]


def _name(operation: Operation) -> str:
    return f"{operation[0]} {operation[1]}"


@pytest.mark.parametrize("operation", WITH_BODY, ids=_name)
def test_operations_with_a_body_document_400_and_422(operation: Operation) -> None:
    _, _, spec = operation
    assert {"400", "422"} <= {str(status) for status in spec["responses"]}


@pytest.mark.parametrize("operation", WITH_TOKEN, ids=_name)
def test_operations_behind_a_token_document_401(operation: Operation) -> None:
    assert "401" in {str(status) for status in operation[2]["responses"]}


def test_the_contract_covers_the_api() -> None:
    assert len(WITH_BODY) >= 10  # register, token x4, categories, products, stock, orders
