"""Zarr bytes over plain HTTP: the signed file PUT, and the read-only key URLs.

- ``PUT /store/zarr/<zarr_id>/<key>``: what a Zarr upload URL points to when the store does
  not take PUTs itself (S3's presigned PUT, stood in for); registered before
  :mod:`.store`, whose ``/store/{key}`` PUT takes upload parts only.
- ``GET``/``HEAD /zarr/<zarr_id>/<key>``: any Zarr, live or a published snapshot, read-only at
  a stable URL with ``Range``; an absent key is a 404, so ``zarr.open_group(url)`` works.
  Reads pass the same visibility check as every read of the dandiset.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import PurePosixPath

from fastapi import Request
from starlette.responses import Response

from neuropil.api import request_body
from neuropil.api.caller import get_user
from neuropil.api.routing import Router
from neuropil.api.streaming import ObjectResponse
from neuropil.core.zarr_paths import METADATA_NAMES
from neuropil.errors import PayloadTooLarge
from neuropil.server.request import get_ctx
from neuropil.services import blob_headers, store_endpoints
from neuropil.services.zarr import put, reading

router = Router(include_in_schema=False)

#: Zarr metadata documents (v2 and v3), served as JSON; everything else as bytes.
JSON_KEYS = frozenset(METADATA_NAMES)


async def put_file(request: Request) -> Response:
    """A plain Starlette endpoint, not a FastAPI route: it runs once per file of every Zarr
    upload, and FastAPI's dependency solving cost about as much as the rest of the
    handler. It reads nothing but the path, the headers and the body."""
    rest: str = request.path_params["rest"]
    ctx = get_ctx(request)
    length_header = request.headers.get("content-length")
    length = int(length_header) if length_header and length_header.isdigit() else None
    if length is not None and length > put.MAX_FILE:
        raise PayloadTooLarge("A Zarr file may be at most 5 GiB.")
    object_key = f"zarr/{rest}"
    params = dict(request.query_params)
    # The signature is checked before a byte of the body is read.
    store_endpoints.check_signature(ctx, "PUT", object_key, params)

    def work(chunks: Iterator[bytes]) -> str:
        return put.put_file(
            ctx,
            object_key=object_key,
            params=params,
            content_md5=request.headers.get("content-md5"),
            content_length=length,
            chunks=chunks,
        )

    etag = await request_body.consume(request, work)
    return Response(status_code=200, headers={"ETag": f'"{etag}"'})


def read_key(request: Request) -> Response:
    """A plain Starlette endpoint too (run in the thread pool): one per key of a download."""
    zarr_id: str = request.path_params["zarr_id"]
    key: str = request.path_params["key"]
    ctx = get_ctx(request)
    found = reading.file_at(ctx, user=get_user(request), zarr_id=zarr_id, key=key)
    wanted = "application/json" if PurePosixPath(key).name in JSON_KEYS else None
    content_type, disposition = blob_headers.choose(wanted, None)
    store = ctx.store
    return ObjectResponse(
        size=found.size,
        etag=found.md5,
        modified=found.modified,
        range_header=request.headers.get("range"),
        head=request.method == "HEAD",
        path=store.local_path(found.object_key),
        reader=lambda r: store.read(found.object_key, r),
        content_type=content_type,
        disposition=disposition,
        if_none_match=request.headers.get("if-none-match"),
    )


router.add_route("/store/zarr/{rest:path}", put_file, methods=["PUT"], include_in_schema=False)
router.add_route(
    "/zarr/{zarr_id}/{key:path}", read_key, methods=["GET", "HEAD"], include_in_schema=False
)
