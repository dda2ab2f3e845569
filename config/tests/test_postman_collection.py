"""The Postman collection stays honest: it calls every API operation, and only those."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from config.api import api

COLLECTION = Path(__file__).resolve().parents[2] / "postman" / "shop.postman_collection.json"
METHODS = {"get", "post", "put", "patch", "delete"}

# A path parameter, whichever way it is spelt: {product_id} in the schema, {{productId}} or a
# literal id such as 999999999 in the collection.
_PARAM = re.compile(r"^(\{\{\w+\}\}|\{\w+\}|\d+)$")


def _normalize(path: str) -> str:
    path = path.split("?", 1)[0].removeprefix("{{baseUrl}}")
    return "/".join("{}" if _PARAM.match(part) else part for part in path.split("/"))


def _requests(items: list[dict[str, Any]]) -> Iterator[tuple[str, str]]:
    for item in items:
        if "item" in item:  # a folder
            yield from _requests(item["item"])
            continue
        request = item["request"]
        url = request["url"]
        raw = url if isinstance(url, str) else url["raw"]
        yield request["method"].upper(), _normalize(raw)


# Probes of what is *not* an operation (unknown paths, wrong methods, health, metrics).
def _is_edges(folder: dict[str, Any]) -> bool:
    return str(folder["name"]).endswith(". Edges")


def _collection_operations() -> set[tuple[str, str]]:
    folders = json.loads(COLLECTION.read_text())["item"]
    return set(_requests([f for f in folders if not _is_edges(f)]))


def _schema_operations() -> set[tuple[str, str]]:
    schema = api.get_openapi_schema()
    return {
        (method.upper(), _normalize(path))
        for path, operations in schema["paths"].items()
        for method in operations
        if method in METHODS
    }


def test_every_schema_operation_is_in_the_collection() -> None:
    missing = sorted(_schema_operations() - _collection_operations())
    assert not missing, "operations in the OpenAPI schema but not in the Postman collection:\n" + (
        "\n".join(f"  {method} {path}" for method, path in missing)
    )


def test_the_collection_calls_only_schema_operations() -> None:
    unknown = sorted(_collection_operations() - _schema_operations())
    assert not unknown, "requests in the Postman collection that the API does not have:\n" + (
        "\n".join(f"  {method} {path}" for method, path in unknown)
    )


def test_normalize_matches_schema_and_collection_spellings() -> None:
    assert _normalize("/api/products/{product_id}/") == "/api/products/{}/"
    assert _normalize("{{baseUrl}}/api/products/{{productId}}/?page=2") == "/api/products/{}/"
    assert _normalize("{{baseUrl}}/api/orders/999999999/cancel/") == "/api/orders/{}/cancel/"


def test_the_edges_folder_probes_the_edges() -> None:
    folders = json.loads(COLLECTION.read_text())["item"]
    (edges,) = [f for f in folders if _is_edges(f)]
    probes = set(_requests(edges["item"]))
    assert ("DELETE", "/api/orders/{}/") in probes
    assert ("OPTIONS", "/api/orders/") in probes
    assert ("POST", "/api/orders") in probes
    # Folders are numbered in order, and throttling runs last: it exhausts the sign-in limits.
    names = [f["name"] for f in folders]
    assert names == [f"{n}. {name.split('. ', 1)[1]}" for n, name in enumerate(names, 1)]
    assert names[-1].endswith(". Throttling")
