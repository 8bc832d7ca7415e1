"""Request bodies streamed to blocking storage code, never whole in memory.

Object PUTs (upload parts, Zarr files) are read on the event loop and written by storage
code in a worker thread; :func:`consume` connects the two with bounded buffering.
"""

from __future__ import annotations

import queue
from collections.abc import AsyncIterator, Callable, Iterator
from typing import TypeVar

import anyio
from fastapi import Request

from neuropil.errors import BadRequest, NeuropilError

T = TypeVar("T")

#: Body bytes handed to the storage thread at a time, and batches queued ahead of it.
BATCH = 1 << 20
QUEUED = 8


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


async def consume(request: Request, work: Callable[[Iterator[bytes]], T]) -> T:
    """Run ``work(chunks)`` in a worker thread, fed the request body as it arrives.

    A body of at most :data:`BATCH` bytes (by its ``Content-Length``: a Zarr file, a small
    part) is read first and handed over whole: one thread hop, no bridge to set up."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) <= BATCH:
        try:
            body = await request.body()
        except Exception as exc:  # the client went away mid-body
            raise BadRequest("The request body ended early.") from exc
        return await anyio.to_thread.run_sync(work, iter([body] if body else []))
    bridge = _BodyBridge(request)

    def run() -> T:
        try:
            return work(bridge.chunks())
        finally:
            bridge.stop()

    # An error must leave the task group unwrapped: anyio would turn it into an
    # ExceptionGroup, which the error handlers do not know (a 400 would become a 500).
    failure: NeuropilError | None = None
    result: T | None = None
    async with anyio.create_task_group() as tg:
        tg.start_soon(bridge.pump)
        try:
            result = await anyio.to_thread.run_sync(run)
        except NeuropilError as exc:
            failure = exc
    if failure is not None:
        raise failure
    return result  # type: ignore[return-value]
