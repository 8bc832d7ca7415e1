"""Errors become DANDI-shaped HTTP responses here, and only here."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response

from neuropil.errors import NeuropilError, SchemaErrors

log = logging.getLogger(__name__)


def _error_body(exc: NeuropilError) -> Any:
    if isinstance(exc, SchemaErrors):
        return {"detail": exc.message, "errors": exc.errors}
    return {"detail": exc.message} if exc.detail_shape else exc.message


async def neuropil_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, NeuropilError)
    return JSONResponse(_error_body(exc), status_code=exc.status_code, headers=exc.headers)


async def validation_error(_request: Request, exc: Exception) -> Response:
    """Malformed JSON or a wrongly typed parameter: 400 with DRF's shapes."""
    assert isinstance(exc, RequestValidationError)
    fields: dict[str, list[str]] = {}
    for err in exc.errors():
        if err.get("type") == "json_invalid":
            ctx = err.get("ctx") or {}
            return JSONResponse(
                {"detail": f"JSON parse error - {ctx.get('error', 'invalid JSON')}"},
                status_code=400,
            )
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path")]
        name = ".".join(loc) or "non_field_errors"
        fields.setdefault(name, []).append(str(err.get("msg", "invalid value")))
    return JSONResponse(fields, status_code=400)


async def http_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    message = {404: "Not found.", 405: "Method not allowed."}.get(exc.status_code, exc.detail)
    return JSONResponse(
        {"detail": message}, status_code=exc.status_code, headers=getattr(exc, "headers", None)
    )


async def unexpected_error(_request: Request, exc: Exception) -> Response:
    log.exception("unhandled error", exc_info=exc)
    return JSONResponse(
        {"detail": "Internal server error; the server log has details."}, status_code=500
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(NeuropilError, neuropil_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, unexpected_error)
