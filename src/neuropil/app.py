"""The server application: the API and the web pages in one FastAPI app, assembled here.

:func:`create_app` mounts the two faces (:func:`neuropil.api.install`,
:func:`neuropil.web.install`), which never import each other, and runs the server's background
work (:class:`neuropil.server.background.Background`) for the app's lifetime.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from neuropil import api, web
from neuropil._version import __version__
from neuropil.api.limits import BodyLimits
from neuropil.server import reads
from neuropil.server.answers import AnswersAfterPass
from neuropil.server.background import Background
from neuropil.services.context import Context
from neuropil.web.security_headers import SecurityHeaders

__all__ = ["TrailingSlash", "create_app"]


class TrailingSlash:
    """Serve ``/api/x`` as ``/api/x/`` without a redirect (the official client omits some
    slashes, and a redirect would turn a POST into a GET)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            scope["np.original_path"] = path
            last = path.rsplit("/", 1)[-1]
            if path.startswith("/api/") and not path.endswith("/") and "." not in last:
                scope = dict(scope)
                scope["path"] = path + "/"
                if scope.get("raw_path"):
                    scope["raw_path"] = scope["raw_path"] + b"/"
        await self.app(scope, receive, send)


def create_app(ctx: Context, *, lifespan_hooks: bool = True) -> ASGIApp:
    """Build the app around a :class:`Context`; the server's background work starts with it
    unless ``lifespan_hooks`` is false. The FastAPI app comes wrapped in
    :class:`TrailingSlash`, and that in
    :class:`~neuropil.server.answers.AnswersAfterPass`."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # What start-up built (the modules, the app: ~250,000 objects) lives as long as the
        # process. Frozen, it is left out of the garbage collector's full passes, which
        # walked all of it under load: 100-180 ms, every request in flight stalled.
        gc.collect()
        gc.freeze()
        reads.install(ctx)
        background = Background(ctx) if lifespan_hooks else None
        if background is not None:
            background.start()
        try:
            yield
        finally:
            if background is not None:
                background.stop()
            await reads.uninstall()

    app = FastAPI(
        title="neuropil",
        version=__version__,
        description="A self-hostable neurophysiology archive speaking the DANDI REST API.",
        docs_url="/api/docs/swagger/",
        redoc_url="/api/docs/redoc/",
        openapi_url="/api/docs/openapi.json",
        lifespan=lifespan,
        redirect_slashes=False,
    )
    app.state.ctx = ctx
    api.install(app)
    web.install(app)  # the web pages (/, /dandiset/..., /search)
    # Both faces: body limits and the JSON text check, and security headers on every
    # response (see docs/design/security.md).
    app.add_middleware(BodyLimits)
    app.add_middleware(SecurityHeaders)
    # Outermost: each response starts after a pass of the event loop (server/answers.py).
    return AnswersAfterPass(TrailingSlash(app))
