"""A read-only, seekable binary file over HTTP range requests, for ``h5py.File(RemoteFile(url))``.

The file is a thin layer: it maps reads onto fixed-size blocks, asks the cache for them, and
hands whatever is missing (plus the read-ahead the policy advises) to the fetcher in one call,
so that missing blocks of one read are coalesced into as few requests as the fetcher can make.
Opening the file costs one ranged GET of the first block (HDF5 starts there, and the answer
carries the size); with a cache that already knows the URL it costs nothing.
"""

from __future__ import annotations

import io
import os
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from neuropil.client.transport import Transport
from neuropil.core.ranges import ByteRange
from neuropil.errors import BlobChanged, StreamError
from neuropil.stream.cache import BlockCache, BlockKey, MemoryCache
from neuropil.stream.fetch import BlobIdentity, HttpFetcher
from neuropil.stream.readahead import ReadAhead

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

DEFAULT_BLOCK_SIZE = 64 << 10
#: Read-ahead cap, in bytes: past a few MiB per request, bigger requests gain little.
DEFAULT_MAX_READAHEAD = 16 << 20


@dataclass(frozen=True)
class StreamStats:
    """Network and cache counters of one :class:`RemoteFile` (cache counters are the
    cache's own: shared if the cache is shared)."""

    requests: int
    bytes: int
    retries: int
    cache_hits: int
    cache_misses: int
    cache_bytes: int


class RemoteFile(io.RawIOBase):
    """The object at ``url`` as a read-only binary file.

    ``url`` may be an API download URL (its redirect is followed once) or a blob URL.
    ``cache`` defaults to a private :class:`MemoryCache` of 64 MiB; pass a
    :class:`DiskCache` to keep blocks across files and processes. ``transport`` supplies
    the HTTP client, token and retry policy (see :class:`HttpFetcher`). Thread-safe: reads
    and seeks are serialized.
    """

    def __init__(
        self,
        url: str,
        *,
        cache: BlockCache | None = None,
        block_size: int = DEFAULT_BLOCK_SIZE,
        transport: Transport | None = None,
        readahead: ReadAhead | None = None,
    ) -> None:
        super().__init__()
        if block_size <= 0:
            raise ValueError("block_size must be positive")
        self.url = url
        self.block_size = block_size
        self._cache = cache if cache is not None else MemoryCache()
        self._readahead = readahead or ReadAhead(max_blocks=DEFAULT_MAX_READAHEAD // block_size)
        self._fetcher = HttpFetcher(url, transport)
        self._lock = threading.RLock()
        self._pos = 0
        try:
            self._identity = self._open()
        except BaseException:
            self._fetcher.close()
            raise
        self._key = self._identity.key(url)

    def _open(self) -> BlobIdentity:
        known = self._cache.identity(self.url)
        if known is not None:
            self._fetcher.expect(known)
            return known
        first = self._fetcher.fetch([ByteRange(0, self.block_size)])[0]
        identity = self._fetcher.identity
        if identity is None:  # the fetcher learns it from any answer it accepts
            raise StreamError(f"{self.url}: no size in the answer", url=self.url)
        self._cache.put(BlockKey(identity.key(self.url), self.block_size, 0), first)
        self._cache.remember(self.url, identity)
        return identity

    @property
    def size(self) -> int:
        """The object's size in bytes."""
        return self._identity.size

    @property
    def etag(self) -> str | None:
        """The object's ``ETag`` as the server sent it (quoted), if it sent one."""
        return self._identity.etag

    @property
    def stats(self) -> StreamStats:
        f, c = self._fetcher.stats, self._cache.stats
        return StreamStats(f.requests, f.bytes, f.retries, c.hits, c.misses, c.bytes)

    def __repr__(self) -> str:
        return f"<RemoteFile {self.url!r} size={self.size}>"

    # -- io.RawIOBase ------------------------------------------------------------------------

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        self._checkClosed()  # type: ignore[attr-defined]
        return self._pos

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        self._checkClosed()  # type: ignore[attr-defined]
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._pos, os.SEEK_END: self.size}.get(whence)
        if base is None:
            raise ValueError(f"invalid whence {whence}")
        if base + offset < 0:
            raise ValueError("negative seek position")
        with self._lock:
            self._pos = base + offset
            return self._pos

    def readinto(self, buffer: WriteableBuffer) -> int:
        self._checkClosed()  # type: ignore[attr-defined]
        with self._lock, memoryview(buffer) as view, view.cast("B") as out:
            n = self._read_at(self._pos, out)
            self._pos += n
            return n

    def readall(self) -> bytes:
        """The rest of the file in one read (not RawIOBase's loop of small reads)."""
        with self._lock:
            out = bytearray(max(0, self.size - self._pos))
            n = self.readinto(out)
            return bytes(out[:n])

    def close(self) -> None:
        # getattr: io's finalizer calls close() on objects whose __init__ failed early.
        fetcher = getattr(self, "_fetcher", None)
        if fetcher is not None and not self.closed:
            fetcher.close()
        super().close()

    # -- blocks ------------------------------------------------------------------------------

    def _read_at(self, pos: int, out: memoryview) -> int:
        n = max(0, min(len(out), self.size - pos))
        if n == 0:
            return 0
        bs = self.block_size
        first, last = pos // bs, (pos + n - 1) // bs
        blocks = self._blocks(first, last)
        done = 0
        for index in range(first, last + 1):
            data = blocks[index]
            lo = pos + done - index * bs
            take = min(len(data) - lo, n - done)
            out[done : done + take] = data[lo : lo + take]
            done += take
        return n

    def _block_range(self, index: int) -> ByteRange:
        start = index * self.block_size
        return ByteRange(start, min(start + self.block_size, self.size))

    def _key_of(self, index: int) -> BlockKey:
        return BlockKey(self._key, self.block_size, index)

    def _cached(self, index: int) -> bytes | None:
        data = self._cache.get(self._key_of(index))
        if data is not None and len(data) != self._block_range(index).length:
            return None  # torn or foreign: fetch it again
        return data

    def _blocks(self, first: int, last: int) -> dict[int, bytes]:
        """Blocks ``first..last``, from the cache or (with read-ahead) the network."""
        found: dict[int, bytes] = {}
        missing: list[int] = []
        for index in range(first, last + 1):
            data = self._cached(index)
            if data is None:
                missing.append(index)
            else:
                found[index] = data
        if missing:
            # Read-ahead goes to the cache: at most half of it, or it evicts itself unread.
            room = self._cache.capacity // 2 // self.block_size
            extra = min(self._readahead.advise(missing[0], last), room)
            found.update(self._fetch(missing + self._ahead(last + 1, extra)))
        return found

    def _ahead(self, start: int, count: int) -> list[int]:
        """Up to ``count`` blocks from ``start`` to read ahead, stopping at the end of the
        file or at the first block the cache already has (the stream continues there)."""
        end = min(start + count, -(-self.size // self.block_size))
        ahead = []
        for index in range(start, end):
            if self._key_of(index) in self._cache:
                break
            ahead.append(index)
        return ahead

    def _fetch(self, indices: list[int]) -> dict[int, bytes]:
        try:
            datas = self._fetcher.fetch([self._block_range(i) for i in indices])
        except BlobChanged:
            self._cache.forget(self.url)  # the next open must learn the object anew
            raise
        out = {}
        for index, data in zip(indices, datas, strict=True):
            if len(data) != self._block_range(index).length:
                raise StreamError(f"{self.url}: block {index} came back short", url=self.url)
            self._cache.put(self._key_of(index), data)
            out[index] = data
        return out
