"""Serving object bytes: HEAD, ``Range`` (206/416), ``ETag``, streamed, never whole in memory.

Ranges above :data:`CHUNK` of a local file are served from a read-only memory map: each
body message is a ``memoryview`` of the mapped page cache, so the bytes are copied once
(into the socket) instead of twice (``pread`` into a new ``bytes``, then into the socket).
That cuts the server's CPU time per GiB served by a third to a half (see ``benchmarks/``).
Before each :data:`PREFETCH` window the sender checks, without blocking, that the window is
in the page cache; if it is not, a worker thread reads it in first, so the disk is read off
the event loop, as with ``pread``. Blob files are never rewritten in place (a new version
replaces the file by a rename), so a mapping cannot shrink under us; the size is checked
again before each window all the same, because a mapped page past the end of the file is a
SIGBUS. Smaller ranges are read whole: on the event loop when the page cache holds them
(``RWF_NOWAIT``, a read that cannot wait for the disk), else on a worker thread."""

from __future__ import annotations

import errno
import mmap
import os
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from contextlib import aclosing, suppress
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import anyio
from anyio import CancelScope
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from neuropil.core.ranges import ByteRange, parse_range_header
from neuropil.errors import RangeNotSatisfiable
from neuropil.services.blob_headers import OBJECT_SECURITY_HEADERS

#: Bytes per body message; also the largest range served by one ``pread`` (small ranges,
#: as HDF5 readers make by the thousand, are cheaper read than mapped).
CHUNK = 4 << 20
#: Bytes of a mapped file made resident per worker-thread hop, ahead of the sender.
PREFETCH = 16 << 20
#: ``sendfile`` errors meaning "not supported here" rather than a failed read.
_NO_SENDFILE = {errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP}
_CAN_PROBE = hasattr(os, "preadv") and hasattr(os, "RWF_NOWAIT")
_PROBE_STEP = 1 << 20


class ObjectResponse(Response):
    """An ASGI response for one object, from a local file or a chunk iterator.

    Body messages may carry ``memoryview`` chunks rather than ``bytes`` (uvicorn, h11 and
    the test clients all accept any bytes-like body)."""

    def __init__(
        self,
        *,
        size: int,
        etag: str,
        modified: Any,
        range_header: str | None,
        head: bool,
        path: Path | None = None,
        reader: Any = None,
        content_type: str = "application/octet-stream",
        disposition: str | None = None,
        if_none_match: str | None = None,
    ) -> None:
        self.size = size
        self.path = path
        self.reader = reader  # callable(ByteRange | None) -> Iterator[bytes]
        self.head = head
        self.byte_range: ByteRange | None = None
        self.status = 200
        quoted = f'"{etag}"'
        self._h: dict[str, str] = {
            "accept-ranges": "bytes",
            "etag": quoted,
            "last-modified": format_datetime(modified, usegmt=True),
            "content-type": content_type,
            **OBJECT_SECURITY_HEADERS,  # object bytes never script this origin
        }
        if disposition:
            self._h["content-disposition"] = disposition
        if if_none_match and quoted in [t.strip() for t in if_none_match.split(",")]:
            self.status = 304
            self._h["content-length"] = "0"
            self._finish_init()
            return
        try:
            self.byte_range = parse_range_header(range_header, size)
        except RangeNotSatisfiable:
            self.status = 416
            self._h["content-range"] = f"bytes */{size}"
            self._h["content-length"] = "0"
            self._finish_init()
            return
        if self.byte_range is not None:
            self.status = 206
            self._h["content-range"] = self.byte_range.content_range(size)
            self._h["content-length"] = str(self.byte_range.length)
        else:
            self._h["content-length"] = str(size)
        self._finish_init()

    def _finish_init(self) -> None:
        super().__init__(status_code=self.status, headers=self._h)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": self.status,
                "headers": self.raw_headers,
            }
        )
        if self.head or self.status in (304, 416):
            await send({"type": "http.response.body", "body": b""})
            return
        # uvicorn's send() returns quietly once the client has gone; without watching for
        # the disconnect, an aborted download would still read the rest of the object.
        failure: Exception | None = None
        async with anyio.create_task_group() as tg:
            tg.start_soon(_cancel_on_disconnect, receive, tg.cancel_scope)
            try:
                await self._send_body(send)
            except Exception as exc:  # raised as is below, not wrapped in an ExceptionGroup
                failure = exc
            tg.cancel_scope.cancel()
        if failure is not None:
            raise failure

    async def _send_body(self, send: Send) -> None:
        chunks = self._file_chunks() if self.path is not None else self._iter_chunks()
        async with aclosing(chunks):
            async for chunk in chunks:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    async def _file_chunks(self) -> AsyncGenerator[bytes | memoryview, None]:
        assert self.path is not None
        start = self.byte_range.start if self.byte_range else 0
        stop = self.byte_range.stop if self.byte_range else self.size
        if stop <= start:
            return
        if stop - start <= CHUNK:
            # From the page cache without a thread; else one hop: open, read, close there.
            chunk: bytes | memoryview | None = _read_cached(self.path, start, stop)
            if chunk is None:
                chunk = await anyio.to_thread.run_sync(_read_range, self.path, start, stop)
            yield chunk
            return
        fd = await anyio.to_thread.run_sync(os.open, self.path, os.O_RDONLY)
        try:
            async for view in _mapped_chunks(fd, start, stop, self.path):
                yield view  # bytes-like; uvicorn writes it to the socket without a copy
        finally:
            os.close(fd)

    async def _iter_chunks(self) -> AsyncGenerator[bytes | memoryview, None]:
        it: Iterator[bytes] = self.reader(self.byte_range)
        sentinel = object()
        try:
            while True:
                chunk = await anyio.to_thread.run_sync(next, it, sentinel)
                if chunk is sentinel:
                    return
                assert isinstance(chunk, bytes)
                yield chunk
        finally:
            close = getattr(it, "close", None)
            if close is not None:
                close()  # a generator over an open file: close it now, not at GC


async def _cancel_on_disconnect(receive: Receive, scope: CancelScope) -> None:
    while True:
        message: Message = await receive()
        if message["type"] == "http.disconnect":
            scope.cancel()
            return


def _shorter(path: Path) -> OSError:
    return OSError(f"{path} is shorter than expected")


def _pread_exact(fd: int, start: int, stop: int, path: Path) -> bytes:
    data = os.pread(fd, stop - start, start)
    if len(data) == stop - start:
        return data
    parts = [data]
    offset = start + len(data)
    while offset < stop:
        more = os.pread(fd, stop - offset, offset)
        if not more:
            raise _shorter(path)
        parts.append(more)
        offset += len(more)
    return b"".join(parts)


def _read_range(path: Path, start: int, stop: int) -> bytes:
    fd = os.open(path, os.O_RDONLY)
    try:
        return _pread_exact(fd, start, stop, path)
    finally:
        os.close(fd)


def _read_cached(path: Path, start: int, stop: int) -> memoryview | None:
    """File bytes ``[start, stop)`` if the page cache holds them all, read with
    ``RWF_NOWAIT`` (which never waits for the disk): cheap enough for the event loop, where
    a thread hop and the GIL handed over twice cost more than the copy. ``None`` otherwise
    (not cached, or only in part; or the system cannot tell)."""
    if not _CAN_PROBE:
        return None
    buf = bytearray(stop - start)
    fd = os.open(path, os.O_RDONLY)
    try:
        got = os.preadv(fd, [buf], start, os.RWF_NOWAIT)
    except OSError:  # EAGAIN: not cached; anything else is for the thread's read to raise
        return None
    finally:
        os.close(fd)
    return memoryview(buf) if got == len(buf) else None


def _cached(fd: int, lo: int, hi: int) -> bool:
    """Whether file bytes ``[lo, hi)`` seem to be in the page cache: a non-blocking one-byte
    read (``RWF_NOWAIT``) per MiB and of the last byte. False when it cannot tell."""
    if not _CAN_PROBE:
        return False
    probe = [bytearray(1)]
    try:
        for off in (*range(lo, hi, _PROBE_STEP), hi - 1):
            if os.preadv(fd, probe, off, os.RWF_NOWAIT) != 1:
                return False
    except OSError:  # EAGAIN: not cached; anything else: cannot tell
        return False
    return True


async def _mapped_chunks(fd: int, start: int, stop: int, path: Path) -> AsyncIterator[memoryview]:
    """``memoryview`` slices of ``[start, stop)`` of the file, from a read-only mapping."""
    if os.fstat(fd).st_size < stop:
        raise _shorter(path)
    base = start - start % mmap.ALLOCATIONGRANULARITY  # a mapping starts on a boundary
    mm = mmap.mmap(fd, stop - base, offset=base, access=mmap.ACCESS_READ)
    view = memoryview(mm)
    sink = os.open(os.devnull, os.O_WRONLY)
    prefetch = True

    def make_resident(lo: int, hi: int) -> None:
        """In a worker thread: read file bytes ``[lo, hi)`` into the page cache.

        ``sendfile`` to ``/dev/null`` reads the pages without copying them and, unlike
        touching the mapping, without holding the GIL while the disk works.
        """
        nonlocal prefetch
        try:
            while lo < hi:
                sent = os.sendfile(sink, fd, lo, hi - lo)
                if sent <= 0:
                    raise _shorter(path)
                lo += sent
        except OSError as exc:
            if exc.errno not in _NO_SENDFILE:
                raise
            prefetch = False  # a file system without sendfile: the sender faults pages in

    offset, resident = start, start
    try:
        while offset < stop:
            n = min(CHUNK, stop - offset)
            if resident < offset + n:
                ahead = min(offset + max(n, PREFETCH), stop)
                if os.fstat(fd).st_size < ahead:
                    raise _shorter(path)  # truncated while being served
                if prefetch and not _cached(fd, resident, ahead):
                    await anyio.to_thread.run_sync(make_resident, resident, ahead)
                resident = ahead
            yield view[offset - base : offset - base + n]
            offset += n
    finally:
        os.close(sink)
        # If the transport still holds a chunk, the mapping is unmapped when that is freed.
        with suppress(BufferError):
            view.release()
            mm.close()
