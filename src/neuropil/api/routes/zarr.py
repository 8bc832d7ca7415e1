"""DANDI's Zarr API: ``/api/zarr/`` (archives, their files, finalize).

Thin handlers over :mod:`neuropil.services.zarr`; shapes, status codes and the error texts
the official client depends on follow dandi-archive.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlencode

from fastapi import Body, Request
from starlette.responses import RedirectResponse, Response, StreamingResponse

from neuropil.api import openapi, request_body, schemas
from neuropil.api.caller import CurrentUser
from neuropil.api.pagination import counted, page_params
from neuropil.api.params import flag
from neuropil.api.responses import JSON
from neuropil.api.routing import Router
from neuropil.errors import BadRequest
from neuropil.server.request import Ctx, ExternalUrls, external_base, get_ctx
from neuropil.services import downloads
from neuropil.services.content import ZarrRecord
from neuropil.services.metadata import isoformat
from neuropil.services.zarr import archives, bulk, files, ingest, reading
from neuropil.services.zarr.listing import ListedFile

router = Router(prefix="/api/zarr", tags=["zarr"])


def zarr_json(z: ZarrRecord) -> dict[str, Any]:
    return {
        "name": z.name,
        "dandiset": z.dandiset,
        "zarr_id": z.zarr_id,
        "status": z.status,
        "checksum": z.checksum,
        "file_count": z.file_count,
        "size": z.size,
    }


def _entry(f: ListedFile) -> dict[str, Any]:
    return {"Key": f.key, "LastModified": isoformat(f.modified), "ETag": f.md5, "Size": f.size}


@router.post("/", summary="Create a Zarr archive", responses=schemas.ok("Zarr"))
def create_zarr(ctx: Ctx, user: CurrentUser, body: Any = Body(None)) -> JSON:
    return JSON(zarr_json(archives.create_zarr(ctx, user=user, body=body)))


@router.get(
    "/",
    summary="List Zarr archives (filter by dandiset and name)",
    responses=schemas.ok("ZarrPage"),
)
def list_zarrs(request: Request, ctx: Ctx, user: CurrentUser) -> JSON:
    page = page_params(request)
    q = request.query_params
    total, rows = archives.list_zarrs(
        ctx,
        user=user,
        dandiset=q.get("dandiset") or None,
        name=q.get("name") or None,
        offset=page.offset,
        limit=page.size,
    )
    return JSON(counted(request, page, [zarr_json(z) for z in rows], total))


@router.get(
    "/{zarr_id}/",
    summary="A Zarr archive (poll until status is Complete)",
    responses=schemas.ok("Zarr"),
)
def get_zarr(zarr_id: str, ctx: Ctx, user: CurrentUser) -> JSON:
    return JSON(zarr_json(archives.get_zarr(ctx, user=user, zarr_id=zarr_id)))


@router.delete("/{zarr_id}/", status_code=204, summary="Delete a Zarr archive no asset uses")
def delete_zarr(zarr_id: str, ctx: Ctx, user: CurrentUser) -> Response:
    archives.delete_zarr(ctx, user=user, zarr_id=zarr_id)
    return Response(status_code=204)


@router.post(
    "/{zarr_id}/files/",
    summary="Upload URLs for a batch of files, in order",
    responses=schemas.ok("ZarrUploadUrls"),
)
def upload_files(
    zarr_id: str, ctx: Ctx, user: CurrentUser, urls: ExternalUrls, body: Any = Body(None)
) -> JSON:
    return JSON(files.request_uploads(ctx, user=user, zarr_id=zarr_id, body=body, urls=urls))


@router.delete("/{zarr_id}/files/", status_code=204, summary="Delete files")
def delete_files(zarr_id: str, ctx: Ctx, user: CurrentUser, body: Any = Body(None)) -> Response:
    files.delete_files(ctx, user=user, zarr_id=zarr_id, body=body)
    return Response(status_code=204)


def _next_url(request: Request, after: str) -> str:
    query = parse_qsl(request.url.query, keep_blank_values=True)
    params = [(k, v) for k, v in query if k != "after"] + [("after", after)]
    base = external_base(request, get_ctx(request))
    path = request.scope.get("np.original_path", request.url.path)
    return f"{base}{path}?{urlencode(params)}"


def _limit(raw: str | None, default: int = reading.MAX_LIMIT) -> int:
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise BadRequest(f"limit must be a whole number, not {raw[:40]!r}.") from exc


@router.api_route(
    "/{zarr_id}/files/",
    methods=["GET", "HEAD"],
    summary="List files (S3-like), or with ?download=1 a 302 to one file's bytes",
    responses={**schemas.ok("ZarrFileListing"), **openapi.REDIRECT},
)
def list_files(
    request: Request, zarr_id: str, ctx: Ctx, user: CurrentUser, urls: ExternalUrls
) -> Response:
    q = request.query_params
    prefix = q.get("prefix") or ""
    if flag(q.get("download"), False):
        to = downloads.zarr_key(ctx, urls, user=user, zarr_id=zarr_id, key=prefix)
        return RedirectResponse(to.location, status_code=302, headers=to.headers)
    page, more = reading.list_files(
        ctx,
        user=user,
        zarr_id=zarr_id,
        prefix=prefix,
        after=q.get("after") or "",
        limit=_limit(q.get("limit")),
    )
    next_url = _next_url(request, page[-1].key) if more and page else None
    return JSON({"next": next_url, "results": [_entry(f) for f in page]})


@router.post(
    "/{zarr_id}/archive/",
    summary="Upload many files as one tar stream (neuropil)",
    responses=schemas.ok("ZarrArchiveUpload"),
)
async def upload_archive(request: Request, zarr_id: str, ctx: Ctx, user: CurrentUser) -> JSON:
    def work(chunks: Iterator[bytes]) -> int:
        return bulk.upload_archive(ctx, user=user, zarr_id=zarr_id, chunks=chunks)

    return JSON({"files": await request_body.consume(request, work)})


@router.get(
    "/{zarr_id}/archive/",
    summary="Download files as one tar stream (neuropil)",
    response_class=Response,
    responses={200: {"content": {"application/x-tar": {}}, "description": "A tar stream"}},
)
def download_archive(request: Request, zarr_id: str, ctx: Ctx, user: CurrentUser) -> Response:
    q = request.query_params
    stream = bulk.download_archive(
        ctx,
        user=user,
        zarr_id=zarr_id,
        prefix=q.get("prefix") or "",
        after=q.get("after") or "",
        limit=_limit(q.get("limit"), bulk.MAX_LIMIT),
    )
    return StreamingResponse(stream, media_type="application/x-tar")


@router.post("/{zarr_id}/finalize/", status_code=204, summary="Compute the checksum (async)")
def finalize(zarr_id: str, ctx: Ctx, user: CurrentUser) -> Response:
    ingest.finalize(ctx, user=user, zarr_id=zarr_id)
    return Response(status_code=204)
