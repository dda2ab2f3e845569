"""The OpenAPI schema documents every status the edges can answer, so clients and fuzzers agree.

Any operation that reads a JSON body answers 400 for a body it cannot parse and 422 for one that
does not validate; any operation behind a token answers 401. A new endpoint that forgets one of
these fails here rather than in `make fuzz`.
"""

from __future__ import annotations

import re
from typing import Any

import jsonschema_rs
import pytest

from accounts import schemas as accounts_schemas
from catalog import schemas as catalog_schemas
from common.schemas import InputSchema, described_error_codes
from config.api import api
from notifications import schemas as notifications_schemas
from orders import schemas as orders_schemas

METHODS = {"get", "post", "put", "patch", "delete"}


SCHEMA = api.get_openapi_schema()


def _operations() -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, operations in SCHEMA["paths"].items()
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


def _generated_summary(operation_id: str) -> str:
    # Ninja's default: the view function's name, title-cased ("token_obtain" -> "Token Obtain").
    function = operation_id.split("_api_", 1)[-1]
    return function.title().replace("_", " ")


@pytest.mark.parametrize("operation", OPERATIONS, ids=_name)
def test_every_operation_has_a_human_summary_and_a_description(operation: Operation) -> None:
    _, _, spec = operation
    assert spec["summary"].strip()
    assert spec["summary"] != _generated_summary(spec["operationId"])
    assert spec.get("description", "").strip()


@pytest.mark.parametrize("operation", OPERATIONS, ids=_name)
def test_every_description_says_who_may_call_it_and_its_errors(operation: Operation) -> None:
    description = operation[2]["description"]
    assert "Errors:" in description
    assert any(who in description for who in ("Anyone", "Staff only", "signed-in", "owner"))


def test_every_tag_is_described() -> None:
    schema = api.get_openapi_schema()
    described = {tag["name"]: tag["description"] for tag in schema["tags"]}
    used = {tag for _, _, spec in OPERATIONS for tag in spec.get("tags", [])}
    assert used <= set(described)
    assert all(text.strip() for text in described.values())


def test_one_bearer_scheme_and_optional_auth_per_operation() -> None:
    schema = api.get_openapi_schema()
    assert schema["components"]["securitySchemes"] == {
        "BearerAuth": {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "The `access` token from `POST /api/token/` (or a refresh of it).",
        }
    }
    securities = {_name(op): op[2].get("security") for op in OPERATIONS}
    assert securities["GET /api/products/"] == [{"BearerAuth": []}, {}]
    assert securities["GET /api/products/{product_id}/"] == [{"BearerAuth": []}, {}]
    assert securities["GET /api/me/"] == [{"BearerAuth": []}]
    assert securities["POST /api/token/"] is None


@pytest.mark.parametrize("operation", OPERATIONS, ids=_name)
def test_the_codes_an_operation_describes_are_in_its_documented_responses(
    operation: Operation,
) -> None:
    _, _, spec = operation
    described = described_error_codes(spec["description"])
    for status, codes in described.items():
        assert status in spec["responses"], f"{status} is described but not documented"
        schema = spec["responses"][status]["content"]["application/json"]["schema"]
        ref = schema["allOf"][0]["$ref"]
        enum = SCHEMA["components"]["schemas"][ref.rsplit("/", 1)[1]]["properties"]["code"]["enum"]
        assert set(codes) <= set(enum), f"{status}: {set(codes) - set(enum)} missing from {ref}"
        # The operation's own enum: exactly the codes its description lists.
        assert schema["properties"]["code"]["enum"] == codes
    error_statuses = {status for status in spec["responses"] if int(status) >= 400}
    assert error_statuses <= set(described)


def test_the_422_body_is_typed() -> None:
    schemas = api.get_openapi_schema()["components"]["schemas"]
    detail = schemas["ValidationFailedError"]["properties"]["detail"]
    assert detail["items"] == {"$ref": "#/components/schemas/ValidationProblem"}
    problem = schemas["ValidationProblem"]
    assert problem["required"] == ["loc", "msg", "type"]
    assert problem["properties"]["loc"]["items"] == {
        "anyOf": [{"type": "string"}, {"type": "integer"}]
    }
    assert schemas["NotFoundError"]["properties"]["detail"]["type"] == "string"


def _headers(path: str, method: str, status: int) -> set[str]:
    return set(SCHEMA["paths"][path][method]["responses"][status].get("headers", {}))


def test_response_headers_are_documented() -> None:
    assert "Idempotent-Replayed" in _headers("/api/orders/", "post", 200)
    assert "Idempotent-Replayed" not in _headers("/api/orders/", "post", 201)
    for method, status in (("get", 200), ("put", 200), ("patch", 200)):
        assert "ETag" in _headers("/api/products/{product_id}/", method, status)
    assert "ETag" in _headers("/api/products/", "post", 201)
    assert "Retry-After" in _headers("/api/token/", "post", 429)
    assert "Retry-After" in _headers("/api/token/refresh/", "post", 503)
    assert "Retry-After" not in _headers("/api/token/", "post", 200)
    for _, _, spec in OPERATIONS:
        for response in spec["responses"].values():
            assert "X-Request-ID" in response["headers"]


def _examples(node: Any, where: str) -> list[tuple[str, dict[str, Any], Any]]:
    """(where, schema, example) for every `examples` entry anywhere in a schema."""
    found = []
    if isinstance(node, dict):
        for example in node.get("examples", []) if isinstance(node.get("examples"), list) else []:
            found.append((where, node, example))
        for key, value in node.items():
            if key != "examples":
                found += _examples(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += _examples(value, f"{where}/{i}")
    return found


EXAMPLES = _examples(SCHEMA["components"]["schemas"], "#/components/schemas")
INPUT_MODELS = {
    name: model
    for module in (accounts_schemas, catalog_schemas, orders_schemas, notifications_schemas)
    for name, model in vars(module).items()
    if isinstance(model, type) and issubclass(model, InputSchema)
}
REQUEST_SCHEMAS = sorted(
    {
        op[2]["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
        for op in WITH_BODY
    }
)


@pytest.mark.parametrize(("where", "schema", "example"), EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_every_documented_example_validates_against_its_schema(
    where: str, schema: dict[str, Any], example: Any
) -> None:
    # The schema with the document's components beside it, so its $refs resolve.
    rooted = {**schema, "components": SCHEMA["components"]}
    errors = [
        error.message for error in jsonschema_rs.Draft202012Validator(rooted).iter_errors(example)
    ]
    assert errors == [], f"{where}: {example!r}"


@pytest.mark.parametrize("name", REQUEST_SCHEMAS)
def test_every_request_body_has_an_example_its_model_accepts(name: str) -> None:
    examples = SCHEMA["components"]["schemas"][name].get("examples")
    assert examples, f"{name} has no example"
    model = INPUT_MODELS[name]
    for example in examples:
        model.model_validate(example)  # the model's own checks too (e.g. one of delta or set)


def test_example_amounts_are_decimal_strings_and_not_negative() -> None:
    amounts = [
        e
        for where, schema, e in EXAMPLES
        if schema.get("type") == "string" and "pattern" in schema and "[0-9]" in schema["pattern"]
    ]
    assert amounts
    for amount in amounts:
        assert re.fullmatch(r"[0-9]+\.[0-9]{2}", amount), amount


def test_schema_names_are_meaningful() -> None:
    names = set(SCHEMA["components"]["schemas"])
    generic = {"Input", "Output", "Schema", "Model", "Body", "Paged", "Page"}
    assert not names & generic
    assert all(not name.startswith(("Input", "Body", "Response")) for name in names)
    assert {"PagedProductOut", "PageQuery", "ValidationFailedError"} <= names


def _success_schemas() -> list[tuple[str, str]]:
    """(operation, schema name) of every JSON success response."""
    found = []
    for method, path, spec in OPERATIONS:
        for status, response in spec["responses"].items():
            content = response.get("content", {}).get("application/json")
            if str(status).startswith("2") and content:
                found.append(
                    (f"{method} {path} {status}", content["schema"]["$ref"].split("/")[-1])
                )
    return found


@pytest.mark.parametrize(("operation", "name"), _success_schemas(), ids=lambda v: str(v))
def test_every_success_response_has_an_example(operation: str, name: str) -> None:
    schemas = SCHEMA["components"]["schemas"]
    schema = schemas[name]
    if "items" in schema.get("properties", {}) and name.startswith("Paged"):
        # A page: its items' schema carries the example a client reads.
        schema = schemas[schema["properties"]["items"]["items"]["$ref"].split("/")[-1]]
    assert schema.get("examples"), f"{operation}: {name} has no example"
