"""Serving object bytes: HEAD, ``Range`` (206/416), ``ETag``, streamed, never whole in memory."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import anyio
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from neuropil.core.ranges import ByteRange, parse_range_header
from neuropil.errors import RangeNotSatisfiable

CHUNK = 4 << 20


class ObjectResponse(Response):
    """An ASGI response for one object, from a local file or a chunk iterator."""

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
        chunks = self._file_chunks() if self.path is not None else self._iter_chunks()
        async for chunk in chunks:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    async def _file_chunks(self) -> AsyncIterator[bytes]:
        assert self.path is not None
        start = self.byte_range.start if self.byte_range else 0
        stop = self.byte_range.stop if self.byte_range else self.size
        fd = await anyio.to_thread.run_sync(os.open, self.path, os.O_RDONLY)
        try:
            offset = start
            while offset < stop:
                n = min(CHUNK, stop - offset)
                chunk = await anyio.to_thread.run_sync(os.pread, fd, n, offset)
                if not chunk:
                    raise OSError(f"{self.path} is shorter than expected")
                offset += len(chunk)
                yield chunk
        finally:
            os.close(fd)

    async def _iter_chunks(self) -> AsyncIterator[bytes]:
        it: Iterator[bytes] = self.reader(self.byte_range)
        sentinel = object()
        while True:
            chunk = await anyio.to_thread.run_sync(next, it, sentinel)
            if chunk is sentinel:
                return
            assert isinstance(chunk, bytes)
            yield chunk
