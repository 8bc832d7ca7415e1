"""The error responses of the OpenAPI document, declared once for every API route.

FastAPI declares ``200`` and ``422`` for each route; the API never answers 422 (invalid
input is DRF's 400) and does answer 400, 401, 403, 404, 405, 409, 413, 416 and 423, each with
one of three bodies (:data:`ERROR_SCHEMA`). :func:`install` adds them to the document from
what each route is (:func:`error_codes`: its method, its path parameters, whether it reads
the caller's token, what it writes to), so a new route is documented without anyone
remembering to, and the document drops the 422 that never happens.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, get_args

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.routing import BaseRoute

from neuropil.api.caller import CurrentUser
from neuropil.api.pagination import page_params

ERROR_REF = "#/components/schemas/Error"
#: DANDI's three error shapes: ``{"detail": ...}`` (with ``errors`` for metadata that does not
#: fit the schema) for framework-style errors, a bare JSON string for domain errors, and DRF's
#: field errors (``{"<field>": ["<message>", ...]}``, ``non_field_errors`` for the whole body)
#: for input that does not parse (:func:`neuropil.api.errors.validation_error`).
ERROR_SCHEMA: dict[str, Any] = {
    "title": "Error",
    "anyOf": [
        {
            "type": "object",
            "required": ["detail"],
            "properties": {
                "detail": {"type": "string", "description": "What went wrong, and what to do."},
                "errors": {
                    "type": "array",
                    "description": "Metadata problems, one per field (400 on metadata writes).",
                    "items": {
                        "type": "object",
                        "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
                    },
                },
            },
        },
        {"type": "string", "description": "What went wrong, and what to do."},
        {
            "type": "object",
            "description": "Invalid input: the messages of each field that does not parse.",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
    ],
}
DESCRIPTIONS = {
    400: "The request is malformed or breaks a rule (the message says which).",
    401: "Authentication is needed, or the token given is not valid.",
    403: "Authenticated, but not allowed (not an owner, not approved).",
    404: "No such object, or not visible to the caller.",
    405: "Not possible on this object (e.g. a published version is immutable).",
    409: "Conflicts with what exists (same path, same blob).",
    413: "The request body (or a metadata field) is larger than accepted.",
    416: "The byte range lies outside the object.",
    423: "The dandiset is being published; try again when it is done.",
}
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: The dependency of every route that reads the caller's token (``CurrentUser``'s).
READS_CALLER: Callable[..., Any] = get_args(CurrentUser)[1].dependency
#: Paths without path parameters that still look an object up, so may answer 404: a blob by
#: its digest, a dandiset named in the query string or the body.
LOOKUPS = frozenset(
    {"/api/blobs/digest/", "/api/uploads/", "/api/uploads/initialize/", "/api/zarr/"}
)


def _dependants(dependant: Dependant) -> Iterator[Dependant]:
    yield dependant
    for sub in dependant.dependencies:
        yield from _dependants(sub)


def _calls(route: APIRoute, fn: Callable[..., Any]) -> bool:
    return any(d.call is fn for d in _dependants(route.dependant))


def _paginated(route: APIRoute) -> bool:
    """Whether the handler reads DRF's page parameters: a page that does not exist is a 404."""
    code = getattr(route.endpoint, "__code__", None)
    return code is not None and page_params.__name__ in code.co_names


def error_codes(route: APIRoute, path: str, methods: set[str]) -> set[int]:
    """The error statuses ``route`` (served at ``path``) can answer with."""
    writes = bool(methods & WRITES)
    codes = {400}
    if _calls(route, READS_CALLER):
        codes.add(401)  # an invalid token, or anonymous where a user is needed
        if writes or "{identifier}" in path:
            codes.add(403)
    if route.dependant.path_params or _paginated(route) or path in LOOKUPS:
        codes.add(404)  # no such object, no such page
    if methods & {"POST", "PUT", "PATCH"}:
        codes.add(413)
    if writes and "/versions/{version}" in path:
        codes |= {405, 423}
    if methods & {"POST", "PUT"} and (path.endswith("/assets/") or "/assets/{asset_id}" in path):
        codes.add(409)
    if path.startswith("/api/uploads/") or path == "/api/dandisets/{identifier}/":
        codes.add(409)  # an existing blob; a dandiset that cannot be deleted
    if "/manifests/" in path:
        codes.add(416)
    return codes


def _response(code: int) -> dict[str, Any]:
    return {
        "description": DESCRIPTIONS[code],
        "content": {"application/json": {"schema": {"$ref": ERROR_REF}}},
    }


def declare_errors(doc: dict[str, Any], routes: Sequence[BaseRoute]) -> None:
    """Add the error responses of :func:`error_codes` to the operations of ``doc`` (an
    OpenAPI document of ``routes``), and drop FastAPI's 422 and its schemas."""
    paths = doc.get("paths", {})
    for context in iter_route_contexts(routes):
        route, path = context.original_route, context.path_format
        if not isinstance(route, APIRoute) or path is None or path not in paths:
            continue
        methods = {m.upper() for m in context.methods or ()}
        for method in methods:
            operation = paths[path].get(method.lower())
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            for code in sorted(error_codes(route, path, methods)):
                responses.setdefault(str(code), _response(code))
    for operations in paths.values():
        for operation in operations.values():
            operation.get("responses", {}).pop("422", None)
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    schemas["Error"] = ERROR_SCHEMA


def install(app: FastAPI) -> None:
    """Serve ``app``'s OpenAPI document with the error responses of every API route."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            declare_errors(doc, app.routes)
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
