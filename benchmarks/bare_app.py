"""The framework ceiling of the load benchmark: one JSON endpoint on Starlette, nothing else.

``python -m uvicorn benchmarks.bare_app:app`` with the flags ``neuropil serve`` uses; what
neuropil serves per second can be no more than this, on the same machine at the same time.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


async def info(request: Request) -> JSONResponse:
    return JSONResponse({"schema_version": "0.6.10", "version": "bare"})


app = Starlette(routes=[Route("/api/info/", info)])
