"""The FastAPI application."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from neuropil import __version__
from neuropil.api import errors
from neuropil.api.routes import assets, auth, dandisets, info, search, store, uploads, versions
from neuropil.api.routes.upload_resume import router as upload_resume_router
from neuropil.services.context import Context
from neuropil.web import install as install_web


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


def create_app(ctx: Context, *, lifespan_hooks: bool = True) -> FastAPI:
    """Build the app around a :class:`Context`; the server's background work starts with it."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from neuropil.server import Background

        background = Background(ctx) if lifespan_hooks else None
        if background is not None:
            background.start()
        try:
            yield
        finally:
            if background is not None:
                background.stop()

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
    errors.install(app)
    for r in (
        info.router,
        auth.router,
        dandisets.router,
        versions.router,
        assets.router,
        assets.top,
        uploads.router,
        upload_resume_router,
        store.router,
        search.router,
    ):
        app.include_router(r)
    install_web(app)  # the web pages (/, /dandiset/..., /search)
    return TrailingSlash(app)  # type: ignore[return-value]
