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

__all__ = ["ROUTERS", "install"]

#: The API's routers, in the order requests try them.
ROUTERS = (
    # Routes are matched in order: each route tried costs a request about 20,000
    # instructions of FastAPI's matching. A router with a prefix is passed with one
    # test by a path outside it (:class:`neuropil.api.routing.Router`); within the
    # routers a path starts under, the most frequent requests' routes come first.
    # Only one pair of routes here can match the same request (below), so no other
    # order changes what is served.
    #
    # Zarr key PUTs (every file of a Zarr upload) and key reads. Before store.router,
    # whose /store/{key:path} would take the PUTs of /store/zarr/...
    zarr_keys.router,
    # Blob bytes (streaming readers ask many ranges of a file) and upload parts.
    store.router,
    # The official client's per-file path lookups, asset metadata and downloads.
    assets.router,
    assets.top,
    versions.router,
    tables.router,
    dandisets.router,
    indexes.by_path,
    reviewers.router,
    info.router,
    auth.router,
    uploads.router,
    upload_resume.router,
    zarr.router,
    indexes.router,
    search.router,
)


def install(app: FastAPI) -> None:
    """Add the API (``/api/...``, the blob URLs ``/store/...`` and the Zarr key URLs
    ``/zarr/...``) to ``app``.

    ``app.state.ctx`` must be set: the handlers read their context from it.
    """
    errors.install(app)
    for router in ROUTERS:
        app.include_router(router)
    openapi.install(app)  # the error responses of every route, in the document
