"""Where chunk bytes come from: one :class:`RangeSource` per object an index points into.

A source reads many byte ranges of one object in one call, so that the HTTP source can hand
them all to :class:`~neuropil.stream.HttpFetcher`, which merges neighbours and sends the
independent requests concurrently. Each source also names its object's *content* for cache
keys (an ETag and size once the server told it, a file's size and mtime), so cached chunks
of a replaced object are never served.
"""

from __future__ import annotations

import os
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from neuropil.core.ranges import ByteRange
from neuropil.errors import BlobChanged, InvalidIndex, StreamError
from neuropil.http.transport import Transport
from neuropil.stream.cache import BlockCache
from neuropil.stream.fetch import HttpFetcher, OnReady

#: ``fetch(url, offset, size) -> bytes``: a caller-supplied reader (tests, custom stores).
Fetch = Callable[[str, int, int], bytes]


@dataclass
class SourceStats:
    """Requests sent (or reads made), bytes received and retries."""

    requests: int = 0
    bytes: int = 0
    retries: int = 0


class RangeSource(ABC):
    """Byte ranges of one object; thread-safe."""

    def __init__(self, url: str) -> None:
        self.url = url

    @abstractmethod
    def read(self, ranges: Sequence[ByteRange], on_ready: OnReady | None = None) -> list[bytes]:
        """The bytes of each range, in order; exactly as long as asked, or an error.

        ``on_ready(i, data)`` is called once per range as soon as its bytes are in (for HTTP,
        while the rest of a request still streams in), possibly from another thread.
        """

    @abstractmethod
    def identity(self) -> str | None:
        """A key naming the object's content, when known without a request."""

    @property
    @abstractmethod
    def stats(self) -> SourceStats: ...

    def close(self) -> None:  # noqa: B027 - most sources hold nothing to release
        """Release connections and pools."""


class HttpSource(RangeSource):
    """An object behind an HTTP(S) URL, read through :class:`HttpFetcher` (which makes and
    closes a :class:`Transport` of its own when none is given)."""

    def __init__(self, url: str, transport: Transport | None, cache: BlockCache) -> None:
        super().__init__(url)
        self._fetcher = HttpFetcher(url, transport)
        self._cache = cache

    def identity(self) -> str | None:
        known = self._fetcher.identity
        if known is None:
            known = self._cache.identity(self.url)
            if known is None:
                return None
            self._fetcher.expect(known)  # answers must now match what the cache holds
        return known.key(self.url)

    def read(self, ranges: Sequence[ByteRange], on_ready: OnReady | None = None) -> list[bytes]:
        def checked(i: int, data: bytes) -> None:
            self._check(ranges[i], data)
            if on_ready is not None:
                on_ready(i, data)

        try:
            datas = self._fetcher.fetch(ranges, checked)
        except BlobChanged:
            self._cache.forget(self.url)
            raise
        identity = self._fetcher.identity
        if identity is not None:
            self._cache.remember(self.url, identity)
        return datas

    def _check(self, want: ByteRange, data: bytes) -> None:
        if len(data) != want.length:
            identity = self._fetcher.identity
            raise StreamError(
                f"{self.url} ends at byte {identity.size if identity else '?'}, before "
                f"the chunk at {want.start}-{want.stop}: the index does not match this "
                "object (truncated or replaced?)",
                url=self.url,
            )

    @property
    def stats(self) -> SourceStats:
        s = self._fetcher.stats
        return SourceStats(s.requests, s.bytes, s.retries)

    def close(self) -> None:
        self._fetcher.close()


class LocalSource(RangeSource):
    """A local file (indexes of local files, and LINDI's indexes, name paths)."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        try:
            self._fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        except OSError as exc:
            raise InvalidIndex(f"the index points to {path}, which cannot be read: {exc}") from exc
        st = os.fstat(self._fd)
        self._key = f"file {os.path.realpath(path)} {st.st_size} {st.st_mtime_ns}"
        self._size = st.st_size
        self._stats = SourceStats()
        self._lock = threading.Lock()

    def identity(self) -> str | None:
        return self._key

    def read(self, ranges: Sequence[ByteRange], on_ready: OnReady | None = None) -> list[bytes]:
        out = []
        for i, want in enumerate(ranges):
            data = os.pread(self._fd, want.length, want.start)
            if len(data) != want.length:
                raise StreamError(
                    f"{self.url} has {self._size} bytes, too few for the chunk at "
                    f"{want.start}-{want.stop}: the index does not match this file",
                    url=self.url,
                )
            out.append(data)
            if on_ready is not None:
                on_ready(i, data)
        with self._lock:
            self._stats.requests += len(ranges)
            self._stats.bytes += sum(len(d) for d in out)
        return out

    @property
    def stats(self) -> SourceStats:
        with self._lock:
            return SourceStats(self._stats.requests, self._stats.bytes)

    def close(self) -> None:
        os.close(self._fd)


class CallableSource(RangeSource):
    """Ranges read one by one through a caller's ``fetch(url, offset, size)``."""

    def __init__(self, url: str, fetch: Fetch) -> None:
        super().__init__(url)
        self._fetch = fetch
        self._stats = SourceStats()
        self._lock = threading.Lock()

    def identity(self) -> str | None:
        return None  # nothing says what the bytes are: never cache them

    def read(self, ranges: Sequence[ByteRange], on_ready: OnReady | None = None) -> list[bytes]:
        out = []
        for i, want in enumerate(ranges):
            out.append(self._fetch(self.url, want.start, want.length))
            if on_ready is not None:
                on_ready(i, out[-1])
        with self._lock:
            self._stats.requests += len(ranges)
            self._stats.bytes += sum(len(d) for d in out)
        return out

    @property
    def stats(self) -> SourceStats:
        with self._lock:
            return SourceStats(self._stats.requests, self._stats.bytes)
