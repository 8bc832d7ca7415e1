"""``/store/{key}``: neuropil's own object endpoints for stores that do not serve clients.

GET/HEAD read a registered blob (anonymous, like a public bucket; an embargoed blob, or any
other object such as an embargoed Zarr's file, through a signed URL only); a GET that asks
for the blob's index instead (``Accept``, :mod:`neuropil.core.links`) gets it, when it is
built; PUT with ``uploadId``+``partNumber`` stores a part and POST with ``uploadId``
completes an upload, both authorized by the URL signature alone.
"""

from __future__ import annotations

from collections.abc import Iterator

import anyio
from fastapi import Request
from starlette.responses import Response

from neuropil.api import request_body
from neuropil.api.routes.indexes import link_headers, negotiated_blob_index
from neuropil.api.routing import Router
from neuropil.api.streaming import ObjectResponse
from neuropil.core.links import prefers_index
from neuropil.errors import BadRequest, MethodNotAllowed, PermissionDenied
from neuropil.server.reads import short_read
from neuropil.server.request import Ctx, ExternalUrls, get_ctx, get_urls
from neuropil.services import blob_headers, indexes, store_endpoints
from neuropil.storage import PartInfo

router = Router(prefix="/store", include_in_schema=False)

MAX_PART = 5 << 30


def _header_param(value: str | None, name: str) -> str | None:
    """A response header asked for in the query (as S3's ``response-*``): printable ASCII
    only, so it can neither break the response nor inject other headers."""
    if value is not None and not all(" " <= ch <= "~" for ch in value):
        raise BadRequest(f"{name} must be printable ASCII.")
    return value


@router.api_route("/{key:path}", methods=["GET", "HEAD"])
@short_read
def read_object(request: Request, key: str) -> Response:
    # The context and URLs from the request, not as dependencies (as the other short
    # reads: ``neuropil.api.caller.call_of``); an object read needs no caller.
    ctx, urls = get_ctx(request), get_urls(request)
    q = request.query_params
    obj = store_endpoints.visible_object(ctx, key, q)
    content_type = _header_param(q.get("response-content-type"), "response-content-type")
    disposition = _header_param(
        q.get("response-content-disposition"), "response-content-disposition"
    )
    refused = blob_headers.requested(ctx.signer, key, q)
    if refused is not None:
        raise PermissionDenied(refused)
    content_type, disposition = blob_headers.choose(content_type, disposition)
    # A Zarr file (no blob id) has no index.
    index = indexes.advertised_blob_index(ctx, urls, obj.blob_id) if obj.blob_id else None
    if index and request.method == "GET" and prefers_index(request.headers.get("accept")):
        asked = urls.local_object(key) + (f"?{request.url.query}" if request.url.query else "")
        negotiated = negotiated_blob_index(request, ctx, obj, blob_url=asked)
        if negotiated is not None:
            negotiated.headers.update(blob_headers.OBJECT_SECURITY_HEADERS)
            return negotiated
    store = ctx.store
    path = store.local_path(key)
    response = ObjectResponse(
        size=obj.size,
        etag=obj.etag,
        modified=obj.modified,
        range_header=request.headers.get("range"),
        head=request.method == "HEAD",
        path=path,
        reader=lambda r: store.read(key, r),
        content_type=content_type,
        disposition=disposition,
        if_none_match=request.headers.get("if-none-match"),
    )
    # The blob's index, for readers holding only this URL (neuropil.core.links); a cache
    # must not hand the bytes to a reader that asked for the index, or the other way round.
    response.headers.update(link_headers(index))
    if index:
        response.headers["Vary"] = "Accept"
    return response


@router.put("/{key:path}")
async def put_part(request: Request, key: str, ctx: Ctx) -> Response:
    params = dict(request.query_params)
    if "partNumber" not in params or "uploadId" not in params:
        raise MethodNotAllowed("Objects are written through the upload API.")
    length_header = request.headers.get("content-length")
    length = int(length_header) if length_header and length_header.isdigit() else None
    if length is not None and length > MAX_PART:
        raise BadRequest("A part may be at most 5 GiB.")
    # Check the signature before reading a byte of the body.
    store_endpoints.check_signature(ctx, "PUT", key, params)

    def work(chunks: Iterator[bytes]) -> PartInfo:
        return store_endpoints.put_part(
            ctx, key=key, params=params, chunks=chunks, content_length=length
        )

    info = await request_body.consume(request, work)
    return Response(status_code=200, headers={"ETag": f'"{info.etag}"'})


@router.post("/{key:path}")
async def complete_upload(request: Request, key: str, ctx: Ctx, urls: ExternalUrls) -> Response:
    params = dict(request.query_params)
    if "uploadId" not in params:
        raise MethodNotAllowed("Objects are written through the upload API.")
    # Check the signature before reading the body, and never buffer more than the limit:
    # this endpoint is reachable without credentials.
    store_endpoints.check_signature(ctx, "POST", key, params)
    too_large = BadRequest("The CompleteMultipartUpload body is too large.")
    length_header = request.headers.get("content-length", "")
    if length_header.isdigit() and int(length_header) > store_endpoints.MAX_COMPLETE_BODY:
        raise too_large
    buf = bytearray()
    async for chunk in request.stream():
        buf += chunk
        if len(buf) > store_endpoints.MAX_COMPLETE_BODY:
            raise too_large
    body = bytes(buf)
    result = await anyio.to_thread.run_sync(
        lambda: store_endpoints.complete(ctx, key=key, params=params, body=body)
    )
    xml = store_endpoints.complete_result_xml(result, urls.local_object(key))
    return Response(xml, media_type="application/xml")
