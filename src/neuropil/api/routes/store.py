"""``/store/{key}``: neuropil's own object endpoints for stores that do not serve clients.

GET/HEAD read a registered blob (anonymous, like a public bucket); PUT with
``uploadId``+``partNumber`` stores a part and POST with ``uploadId`` completes an upload,
both authorized by the URL signature alone.
"""

from __future__ import annotations

import queue
from collections.abc import AsyncIterator, Iterator

import anyio
from fastapi import APIRouter, Request
from starlette.responses import Response

from neuropil.api.deps import Ctx, ExternalUrls
from neuropil.api.streaming import ObjectResponse
from neuropil.errors import BadRequest, MethodNotAllowed, NeuropilError
from neuropil.services import store_endpoints
from neuropil.storage import LocalBlobStore, PartInfo

router = APIRouter(include_in_schema=False)

#: Body bytes handed to the storage thread at a time, and batches queued ahead of it.
BATCH = 1 << 20
QUEUED = 8
MAX_PART = 5 << 30


def _header_param(value: str | None, name: str) -> str | None:
    """A response header asked for in the query (as S3's ``response-*``): printable ASCII
    only, so it can neither break the response nor inject other headers."""
    if value is not None and not all(" " <= ch <= "~" for ch in value):
        raise BadRequest(f"{name} must be printable ASCII.")
    return value


@router.api_route("/store/{key:path}", methods=["GET", "HEAD"])
def read_object(request: Request, key: str, ctx: Ctx) -> ObjectResponse:
    obj = store_endpoints.visible_object(ctx, key)
    q = request.query_params
    content_type = _header_param(q.get("response-content-type"), "response-content-type")
    disposition = _header_param(
        q.get("response-content-disposition"), "response-content-disposition"
    )
    store = ctx.store
    path = store.local_path(key) if isinstance(store, LocalBlobStore) else None
    return ObjectResponse(
        size=obj.size,
        etag=obj.etag,
        modified=obj.modified,
        range_header=request.headers.get("range"),
        head=request.method == "HEAD",
        path=path,
        reader=lambda r: store.read(key, r),
        content_type=content_type or "application/octet-stream",
        disposition=disposition,
        if_none_match=request.headers.get("if-none-match"),
    )


async def _batches(request: Request) -> AsyncIterator[list[bytes]]:
    """The request body as lists of the chunks received, each about :data:`BATCH` bytes.

    The chunks are passed on as they arrived, never joined: copying the body on the event
    loop (the one thread every request shares) cost as much as the rest of its work."""
    batch: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        if not chunk:
            continue
        batch.append(chunk)
        size += len(chunk)
        if size >= BATCH:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


class _BodyBridge:
    """Hands an async request body to blocking storage code running in a worker thread.

    The pump runs on the event loop and may be at most :data:`QUEUED` batches ahead of the
    worker, which consumes :meth:`chunks` and frees a slot per batch it takes. If the worker
    stops early (a bad part), :meth:`stop` makes the pump give up instead of waiting forever.
    """

    def __init__(self, request: Request) -> None:
        self._request = request
        self._q: queue.SimpleQueue[list[bytes] | BaseException | None] = queue.SimpleQueue()
        self._slots = anyio.Semaphore(QUEUED)
        self._stopped = False

    async def _offer(self, item: list[bytes] | BaseException | None) -> bool:
        await self._slots.acquire()
        if self._stopped:
            return False
        self._q.put(item)
        return True

    def _free(self) -> None:  # on the event loop
        self._slots.release()

    def _stop(self) -> None:  # on the event loop
        self._stopped = True
        self._slots.release()  # wake a pump waiting for a slot

    async def pump(self) -> None:
        try:
            async for batch in _batches(self._request):
                if not await self._offer(batch):
                    return
            await self._offer(None)
        except Exception as exc:  # the client went away mid-body
            await self._offer(exc)

    def stop(self) -> None:
        """Called by the worker when it is done, early or not."""
        anyio.from_thread.run_sync(self._stop)

    def chunks(self) -> Iterator[bytes]:
        while True:
            item = self._q.get()
            anyio.from_thread.run_sync(self._free)
            if item is None:
                return
            if isinstance(item, BaseException):
                raise BadRequest("The request body ended early.") from item
            yield from item


@router.put("/store/{key:path}")
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
    bridge = _BodyBridge(request)

    def work() -> PartInfo:
        try:
            return store_endpoints.put_part(
                ctx, key=key, params=params, chunks=bridge.chunks(), content_length=length
            )
        finally:
            bridge.stop()

    # An error must leave the task group unwrapped: anyio would turn it into an
    # ExceptionGroup, which the error handlers do not know (a 400 would become a 500).
    failure: NeuropilError | None = None
    async with anyio.create_task_group() as tg:
        tg.start_soon(bridge.pump)
        try:
            info = await anyio.to_thread.run_sync(work)
        except NeuropilError as exc:
            failure = exc
    if failure is not None:
        raise failure
    return Response(status_code=200, headers={"ETag": f'"{info.etag}"'})


@router.post("/store/{key:path}")
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
