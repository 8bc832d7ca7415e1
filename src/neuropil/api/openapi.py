"""The OpenAPI document: the error responses of every API route, and the answers that are
not JSON.

FastAPI declares ``200`` and ``422`` for each route; the API never answers 422 (invalid
input is DRF's 400) and does answer 400, 401, 403, 404, 405, 409, 413 and 423, each with
one of three bodies (:data:`ERROR_SCHEMA`). :func:`install` adds them to the document from
what each route is (:func:`error_codes`: its method, its path parameters, whether it reads
the caller's token, what it writes to), so a new route is documented without anyone
remembering to, and the document drops the 422 that never happens.

What a route answers beyond that, it declares itself in ``responses=`` with the values
here: a redirect (:data:`REDIRECT`), an object's bytes with ranges and validators
(:func:`object_responses`), an index that may still be being built (:data:`INDEX`); and its
JSON body with :func:`neuropil.api.schemas.ok`, whose component schemas :func:`install` adds.

The byte URLs (``/store/...``, ``/zarr/<id>/<key>``) are left out of the document: they are
the object store's side of the protocol (S3's presigned URLs stand in for them when the store
serves clients itself), named in API answers, not called from the document.
"""

from __future__ import annotations

import copy
import inspect
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any, get_args

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.routing import BaseRoute

from neuropil.api.caller import CurrentUser, call_of
from neuropil.api.pagination import page_params
from neuropil.api.schemas import COMPONENTS

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
#: Other writes that may conflict with what exists: an upload of bytes the archive holds, a
#: publish while the draft is being validated, Zarr files whose paths are taken.
CONFLICTS = frozenset(
    {
        "/api/uploads/initialize/",
        "/api/dandisets/{identifier}/versions/{version}/publish/",
        "/api/zarr/{zarr_id}/archive/",
    }
)
#: Reads without path parameters that refuse a caller who is not approved, or not an owner:
#: the check of a token, the caller's own uploads.
REFUSING_READS = frozenset({"/api/auth/token/", "/api/uploads/"})
METHODS = frozenset({"get", "head", "post", "put", "patch", "delete", "options", "trace"})


def _header(description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"description": description, "schema": schema or {"type": "string"}}


ETAG = _header("The object's strong validator; send it back in If-None-Match.")
NOT_MODIFIED: dict[str, Any] = {
    "description": "Not modified: the ETag given in If-None-Match is current (no body).",
    "headers": {"ETag": ETAG},
}
#: A download: 302 to the bytes (a blob URL, presigned or the archive's own).
REDIRECT: dict[int | str, dict[str, Any]] = {
    302: {
        "description": "Found: the bytes are at the URL in Location (no body).",
        "headers": {"Location": _header("Where the bytes are.")},
    }
}


BYTES: dict[str, Any] = {"type": "string", "format": "binary"}


def object_responses(
    *media_types: str, schema: dict[str, Any] = BYTES
) -> dict[int | str, dict[str, Any]]:
    """An object's bytes as :class:`~neuropil.api.streaming.ObjectResponse` serves them,
    in one of ``media_types``: whole (200, its body as ``schema`` says), a ``Range`` (206),
    unchanged (304), or a range outside the object (416, no body)."""
    content = {m: {"schema": schema} for m in media_types}
    part = {m: {"schema": BYTES} for m in media_types}
    validators = {
        "ETag": ETAG,
        "Last-Modified": _header("When the object was written."),
        "Accept-Ranges": _header("Always ``bytes``: a Range header is honoured."),
    }
    return {
        200: {"description": "The whole object.", "content": content, "headers": validators},
        206: {
            "description": "The byte range asked for in Range.",
            "content": part,
            "headers": {**validators, "Content-Range": _header("bytes <first>-<last>/<size>")},
        },
        304: NOT_MODIFIED,
        416: {
            "description": "The byte range lies outside the object (no body).",
            "headers": {"Content-Range": _header("bytes */<size>")},
        },
    }


_INDEX_STATE = _header(
    "The index's state: built, building, not-hdf5 or failed.",
    {"type": "string", "enum": ["built", "building", "not-hdf5", "failed"]},
)
#: An HDF5 file's LINDI index (``.../index/``), built by a background job.
INDEX: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The LINDI index (.lindi.json); gzip-encoded when accepted.",
        "content": {"application/json": {"schema": {"type": "object"}}},
        "headers": {"ETag": ETAG, "X-Neuropil-Index-Status": _INDEX_STATE},
    },
    304: NOT_MODIFIED,
    404: {
        "description": "No such file, or it has no index: it is not HDF5, or indexing it "
        "failed (the message and X-Neuropil-Index-Status say which).",
        "content": {"application/json": {"schema": {"$ref": ERROR_REF}}},
        "headers": {"X-Neuropil-Index-Status": _INDEX_STATE},
    },
    503: {
        "description": "The index is being built: ask again after Retry-After seconds.",
        "content": {"application/json": {"schema": {"$ref": ERROR_REF}}},
        "headers": {
            "Retry-After": _header("Seconds to wait.", {"type": "integer"}),
            "X-Neuropil-Index-Status": _INDEX_STATE,
        },
    },
}


def _dependants(dependant: Dependant) -> Iterator[Dependant]:
    yield dependant
    for sub in dependant.dependencies:
        yield from _dependants(sub)


def _calls(route: APIRoute, fn: Callable[..., Any]) -> bool:
    return any(d.call is fn for d in _dependants(route.dependant))


def _handler_calls(route: APIRoute, fn: Callable[..., Any]) -> bool:
    """Whether the route's handler itself calls ``fn`` (by name)."""
    code = getattr(inspect.unwrap(route.endpoint), "__code__", None)  # under @short_read
    return code is not None and fn.__name__ in code.co_names


def _paginated(route: APIRoute) -> bool:
    """Whether the handler reads DRF's page parameters: a page that does not exist is a 404."""
    return _handler_calls(route, page_params)


def _reads_caller(route: APIRoute) -> bool:
    """Whether the route reads the caller's token: as a dependency, or in its handler (the
    hot reads: :func:`~neuropil.api.caller.call_of`)."""
    return _calls(route, READS_CALLER) or _handler_calls(route, call_of)


def error_codes(route: APIRoute, path: str, methods: set[str]) -> set[int]:
    """The error statuses ``route`` (served at ``path``) can answer with."""
    writes = bool(methods & WRITES)
    codes = {400}
    if _reads_caller(route):
        codes.add(401)  # an invalid token, or anonymous where a user is needed
        # Writes need an owner; reads of one object refuse those who may not see it (an
        # embargoed dandiset's, an upload of someone else's); a few need an approved caller.
        if writes or route.dependant.path_params or path in REFUSING_READS:
            codes.add(403)
    if route.dependant.path_params or _paginated(route) or path in LOOKUPS:
        codes.add(404)  # no such object, no such page
    if methods & {"POST", "PUT", "PATCH"} or route.body_field is not None:
        codes.add(413)  # a body over its limit (neuropil.api.limits)
    if writes and ("/versions/{version}" in path or "{zarr_id}" in path):
        codes |= {405, 423}  # a published version or Zarr snapshot; a draft being published
    if methods & {"POST", "PUT"} and (path.endswith("/assets/") or "/assets/{asset_id}" in path):
        codes.add(409)  # the path is taken
    if writes and path in CONFLICTS:
        codes.add(409)
    return codes


def _response(code: int) -> dict[str, Any]:
    return {
        "description": DESCRIPTIONS[code],
        "content": {"application/json": {"schema": {"$ref": ERROR_REF}}},
    }


def declare_errors(doc: dict[str, Any], routes: Sequence[BaseRoute]) -> None:
    """Add the error responses of :func:`error_codes` to the operations of ``doc`` (an
    OpenAPI document of ``routes``), drop FastAPI's 422 and its schemas, and add the
    schemas of the success bodies (:data:`neuropil.api.schemas.COMPONENTS`)."""
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
    _unique_operation_ids(paths)
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    schemas["Error"] = ERROR_SCHEMA
    schemas.update(copy.deepcopy(COMPONENTS))  # the document is the app's to change


def _unique_operation_ids(paths: dict[str, Any]) -> None:
    """Name each operation by its own method: FastAPI gives the GET and the HEAD of one
    route the same ``operationId`` (suffixed with one of the two), and a document must
    name each operation once."""
    seen: set[str] = set()
    for operations in paths.values():
        for method, operation in operations.items():
            name = operation.get("operationId")
            if method not in METHODS or not name:
                continue
            stem, _, last = name.rpartition("_")
            if last in METHODS:
                name = operation["operationId"] = f"{stem}_{method}"
            if name in seen:
                raise ValueError(f"two operations of the OpenAPI document are named {name}")
            seen.add(name)


def install(app: FastAPI) -> None:
    """Serve ``app``'s OpenAPI document with the error responses of every API route."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            with warnings.catch_warnings():
                # GET and HEAD of one route: renamed by _unique_operation_ids, which
                # raises on any other duplicate.
                warnings.filterwarnings("ignore", "Duplicate Operation ID", UserWarning)
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
