"""The HTTP API: thin FastAPI handlers that speak the DANDI REST API.

:func:`install` adds the handlers (:mod:`.routes`, one module per resource) and the JSON error
responses (:mod:`.errors`) to the app that :func:`neuropil.app.create_app` builds.
"""

from __future__ import annotations

from fastapi import FastAPI

from neuropil.api import errors, openapi
from neuropil.api.routes import (
    assets,
    auth,
    dandisets,
    indexes,
    info,
    reviewers,
    search,
    store,
    tables,
    upload_resume,
    uploads,
    versions,
    zarr,
    zarr_keys,
)

__all__ = ["install"]


def install(app: FastAPI) -> None:
    """Add the API (``/api/...``, the blob URLs ``/store/...`` and the Zarr key URLs
    ``/zarr/...``) to ``app``.

    ``app.state.ctx`` must be set: the handlers read their context from it.
    """
    errors.install(app)
    for router in (
        # First: its PUTs (every file of a Zarr upload) and key reads are the most frequent
        # requests, and routes are matched in order. Before store.router, which would take
        # the PUTs of /store/zarr/...; no other route shares its paths.
        zarr_keys.router,
        info.router,
        auth.router,
        dandisets.router,
        reviewers.router,
        versions.router,
        assets.router,
        assets.top,
        indexes.router,
        indexes.by_path,
        uploads.router,
        upload_resume.router,
        zarr.router,
        store.router,
        search.router,
        tables.router,
    ):
        app.include_router(router)
    openapi.install(app)  # the error responses of every route, in the document
