"""Assets: nested under a version and at the top level (``/api/assets/{id}/``)."""

from __future__ import annotations

from typing import Any

from fastapi import Body, Request
from starlette.responses import RedirectResponse, Response

from neuropil.api import openapi, schemas, serializers
from neuropil.api.caller import CurrentUser, call_of
from neuropil.api.pagination import counted, page_params, paginated
from neuropil.api.params import flag
from neuropil.api.responses import JSON
from neuropil.api.routes.indexes import index_response, link_headers
from neuropil.api.routing import Router
from neuropil.server.reads import short_read
from neuropil.server.request import Ctx, ExternalUrls
from neuropil.services import assets, downloads
from neuropil.services.assets import AssetRecord
from neuropil.services.context import Context
from neuropil.services.metadata import announced_index_url, asset_metadata
from neuropil.services.urls import Urls

router = Router(prefix="/api/dandisets/{identifier}/versions/{version}/assets")
top = Router(prefix="/api/assets")

#: The download answers 302 to the blob's URL (documented as such, not as 200 JSON).
DOWNLOAD_ROUTE: dict[str, Any] = {
    "summary": "Download (302)",
    "status_code": 302,
    "response_class": RedirectResponse,
    "responses": openapi.REDIRECT,
}


@router.get(
    "/",
    summary="List assets (lazy pagination: count on the first page)",
    responses=schemas.ok("AssetPage"),
)
@short_read
def list_assets(request: Request, identifier: str, version: str) -> JSON:
    call = call_of(request)
    ctx, user, urls = call.ctx, call.user, call.urls
    q = request.query_params
    page = page_params(request)
    with_md = flag(q.get("metadata"), False)
    total, rows, more = assets.list_assets(
        ctx,
        user=user,
        identifier=identifier,
        version=version,
        path=q.get("path") or None,
        glob=q.get("glob") or None,
        order=q.get("order") or None,
        with_metadata=with_md,
        offset=page.offset,
        limit=page.size,
        count=page.number == 1,
        zarr_only=flag(q.get("zarr"), False),
    )
    items = [serializers.asset_list_item(a, urls, with_metadata=with_md) for a in rows]
    return JSON(paginated(request, page, items, count=total, has_next=more))


@router.post("/", summary="Add an asset to the draft", responses=schemas.ok("AssetDetail"))
def create_asset(
    identifier: str,
    version: str,
    ctx: Ctx,
    user: CurrentUser,
    urls: ExternalUrls,
    body: dict[str, Any] = Body(...),
) -> JSON:
    a = assets.create_asset(
        ctx,
        user=user,
        identifier=identifier,
        version=version,
        metadata=body.get("metadata"),
        blob_id=body.get("blob_id"),
        zarr_id=body.get("zarr_id"),
    )
    return JSON(serializers.asset_detail(a, urls))


@router.get(
    "/paths/",
    summary="Folder browser: direct children of a folder",
    responses=schemas.ok("AssetPathPage"),
)
def list_paths(
    request: Request,
    identifier: str,
    version: str,
    ctx: Ctx,
    user: CurrentUser,
    urls: ExternalUrls,
) -> JSON:
    page = page_params(request)
    total, rows = assets.list_paths(
        ctx,
        user=user,
        identifier=identifier,
        version=version,
        path_prefix=request.query_params.get("path_prefix", ""),
        offset=page.offset,
        limit=page.size,
    )
    return JSON(counted(request, page, [serializers.path_entry(p, urls) for p in rows], total))


@router.get("/{asset_id}/", summary="Full asset metadata", responses=schemas.ok("AssetMetadata"))
def get_asset(
    identifier: str,
    version: str,
    asset_id: str,
    ctx: Ctx,
    user: CurrentUser,
    urls: ExternalUrls,
) -> JSON:
    a = assets.get_asset(ctx, user=user, identifier=identifier, version=version, asset_id=asset_id)
    return _with_link(asset_metadata(a, urls), a, urls)


@router.get("/{asset_id}/info/", summary="Asset with metadata", responses=schemas.ok("AssetDetail"))
def get_asset_info(
    identifier: str,
    version: str,
    asset_id: str,
    ctx: Ctx,
    user: CurrentUser,
    urls: ExternalUrls,
) -> JSON:
    a = assets.get_asset(ctx, user=user, identifier=identifier, version=version, asset_id=asset_id)
    return _with_link(serializers.asset_detail(a, urls), a, urls)


@router.get(
    "/{asset_id}/validation/",
    summary="Asset validation status",
    responses=schemas.ok("AssetValidation"),
)
def get_asset_validation(
    identifier: str, version: str, asset_id: str, ctx: Ctx, user: CurrentUser
) -> JSON:
    status, errors = assets.get_asset_validation(
        ctx, user=user, identifier=identifier, version=version, asset_id=asset_id
    )
    return JSON({"status": status, "validation_errors": errors})


@router.put(
    "/{asset_id}/",
    summary="Replace an asset (a change makes a new asset id)",
    responses=schemas.ok("AssetDetail"),
)
def update_asset(
    identifier: str,
    version: str,
    asset_id: str,
    ctx: Ctx,
    user: CurrentUser,
    urls: ExternalUrls,
    body: dict[str, Any] = Body(...),
) -> JSON:
    a = assets.update_asset(
        ctx,
        user=user,
        identifier=identifier,
        version=version,
        asset_id=asset_id,
        metadata=body.get("metadata"),
        blob_id=body.get("blob_id"),
        zarr_id=body.get("zarr_id"),
    )
    return JSON(serializers.asset_detail(a, urls))


@router.delete("/{asset_id}/", status_code=204, summary="Remove an asset from the draft")
def delete_asset(
    identifier: str, version: str, asset_id: str, ctx: Ctx, user: CurrentUser
) -> Response:
    assets.delete_asset(ctx, user=user, identifier=identifier, version=version, asset_id=asset_id)
    return Response(status_code=204)


def _download(ctx: Context, a: AssetRecord, urls: Urls, request: Request) -> Response:
    """302 to where :func:`neuropil.services.downloads.redirect` sends the download."""
    to = downloads.redirect(
        ctx, urls, asset=a, disposition=request.query_params.get("content_disposition")
    )
    return RedirectResponse(to.location, status_code=302, headers=to.headers)


def _with_link(body: Any, a: AssetRecord, urls: Urls) -> JSON:
    """An asset's JSON, with the ``Link`` header advertising its index (if it has one)."""
    return JSON(body, headers=link_headers(announced_index_url(a, urls)))


@router.api_route("/{asset_id}/download/", methods=["GET", "HEAD"], **DOWNLOAD_ROUTE)
def download_nested(
    request: Request,
    identifier: str,
    version: str,
    asset_id: str,
    ctx: Ctx,
    user: CurrentUser,
    urls: ExternalUrls,
) -> Response:
    a = assets.get_asset(ctx, user=user, identifier=identifier, version=version, asset_id=asset_id)
    return _download(ctx, a, urls, request)


@router.get(
    "/{asset_id}/index/",
    summary="The asset's LINDI index (.lindi.json)",
    responses=openapi.INDEX,
)
def get_index_nested(
    request: Request,
    identifier: str,
    version: str,
    asset_id: str,
    ctx: Ctx,
    user: CurrentUser,
    urls: ExternalUrls,
) -> Response:
    a = assets.get_asset(ctx, user=user, identifier=identifier, version=version, asset_id=asset_id)
    return index_response(request, ctx, a, urls)


@top.get("/{asset_id}/", summary="Full asset metadata", responses=schemas.ok("AssetMetadata"))
def get_asset_top(asset_id: str, ctx: Ctx, user: CurrentUser, urls: ExternalUrls) -> JSON:
    a = assets.get_asset_by_id(ctx, user=user, asset_id=asset_id)
    return _with_link(asset_metadata(a, urls), a, urls)


@top.api_route(
    "/{asset_id}/info/",
    methods=["GET", "HEAD"],
    summary="Asset with metadata",
    responses=schemas.ok("AssetDetail"),
)
def get_asset_info_top(asset_id: str, ctx: Ctx, user: CurrentUser, urls: ExternalUrls) -> JSON:
    a = assets.get_asset_by_id(ctx, user=user, asset_id=asset_id)
    return _with_link(serializers.asset_detail(a, urls), a, urls)


@top.api_route("/{asset_id}/download/", methods=["GET", "HEAD"], **DOWNLOAD_ROUTE)
def download_top(
    request: Request, asset_id: str, ctx: Ctx, user: CurrentUser, urls: ExternalUrls
) -> Response:
    a = assets.get_asset_by_id(ctx, user=user, asset_id=asset_id)
    return _download(ctx, a, urls, request)


@top.get(
    "/{asset_id}/index/",
    summary="The asset's LINDI index (.lindi.json)",
    responses=openapi.INDEX,
    description="The index of an HDF5/NWB asset's blob, with its URL template set to the "
    "blob's URL: 200 JSON (gzip when accepted, ETag/If-None-Match), 503 with Retry-After "
    "while it is being built, 404 saying why there is none (not HDF5, or indexing failed), "
    "400 for Zarr assets.",
)
def get_index_top(
    request: Request, asset_id: str, ctx: Ctx, user: CurrentUser, urls: ExternalUrls
) -> Response:
    a = assets.get_asset_by_id(ctx, user=user, asset_id=asset_id)
    return index_response(request, ctx, a, urls)
