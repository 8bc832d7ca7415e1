"""The OpenAPI document declares the errors the API really answers with (issue 16, item 11)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest


@pytest.fixture(scope="module")
def document(archive: Any) -> dict[str, Any]:
    r = httpx.get(f"{archive.api_url}/docs/openapi.json")
    assert r.status_code == 200
    doc: dict[str, Any] = r.json()
    return doc


def _codes(doc: dict[str, Any], path: str, method: str) -> set[str]:
    return set(doc["paths"][path][method]["responses"])


def test_no_route_declares_422(document: dict[str, Any]) -> None:
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            assert "422" not in operation["responses"], (method, path)
    assert "HTTPValidationError" not in document["components"]["schemas"]


def test_errors_use_one_schema(document: dict[str, Any]) -> None:
    error = document["components"]["schemas"]["Error"]
    assert {"type": "string"} in [{"type": s.get("type")} for s in error["anyOf"]]
    for operations in document["paths"].values():
        for operation in operations.values():
            for code, response in operation["responses"].items():
                if code.startswith(("4", "5")):
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/Error"}


@pytest.mark.parametrize(
    ("path", "method", "expected"),
    [
        ("/api/dandisets/", "post", {"200", "400", "401", "403", "413"}),
        ("/api/dandisets/{identifier}/users/", "get", {"200", "400", "401", "403", "404"}),
        ("/api/dandisets/{identifier}/users/", "put", {"200", "400", "401", "403", "404", "413"}),
        (
            "/api/dandisets/{identifier}/versions/{version}/assets/",
            "post",
            {"200", "400", "401", "403", "404", "405", "409", "413", "423"},
        ),
        ("/api/uploads/initialize/", "post", {"200", "400", "401", "403", "404", "409", "413"}),
        (
            "/api/uploads/{upload_id}/validate/",
            "post",
            {"200", "400", "401", "403", "404", "409", "413"},
        ),
    ],
)
def test_real_status_codes_are_declared(
    document: dict[str, Any], path: str, method: str, expected: set[str]
) -> None:
    assert _codes(document, path, method) == expected


def test_put_users_is_a_route(document: dict[str, Any]) -> None:
    assert "put" in document["paths"]["/api/dandisets/{identifier}/users/"]
