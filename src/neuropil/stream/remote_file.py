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

from neuropil.core.ranges import ByteRange
from neuropil.errors import BlobChanged, StreamError
from neuropil.http.transport import Transport
from neuropil.stream.cache import BlockCache, BlockKey, MemoryCache
from neuropil.stream.fetch import BlobIdentity, HttpFetcher
from neuropil.stream.readahead import ReadAhead

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

DEFAULT_BLOCK_SIZE = 32 << 10
#: The private cache of a file opened without one: as the index reader's, room for the working
#: set of reads over a large ElectricalSeries (dozens of ~6 MB chunks), and a hard bound.
DEFAULT_CACHE_BYTES = 256 << 20
#: Read-ahead cap, in bytes: past a few MiB per request, bigger requests gain little.
DEFAULT_MAX_READAHEAD = 16 << 20
#: Reads this large (h5py reading a whole chunk) are fetched exactly, in one request, past
#: the blocks and the read-ahead: the caller knows what it needs, and a chunk of a large
#: dataset is followed by another chunk read just as exact, not by small reads to serve.
DEFAULT_LARGE_READ = 1 << 20
#: Misses within this many bytes of the last fetch grow the read-ahead window as a stream
#: does: opening a file reads the metadata of an object from a few nearby blocks.
DEFAULT_NEAR = 256 << 10
#: A miss in the last this-many bytes of the file fetches through to its end. HDF5 puts the
#: metadata of objects created after large data (most of an NWB file's groups, attributes
#: and small datasets) at the end of the file, where h5py then reads it in small scattered
#: pieces: one request for the tail serves them all.
DEFAULT_TAIL = 512 << 10


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
    ``cache`` defaults to a private :class:`MemoryCache` of 256 MiB; pass a
    :class:`DiskCache` to keep blocks across files and processes. Reads of ``large_read``
    bytes or more that the cache cannot serve from blocks are fetched exactly (one request, no
    read-ahead) and cached as one entry, so h5py reading the same chunk again is served.
    ``transport`` supplies the HTTP client, token and retry policy (see
    :class:`HttpFetcher`); requests are sent from the calling thread. ``ask_index``: the
    first request asks for the object's index in place of its bytes, and when the server
    answers with it, opening raises :class:`~neuropil.stream.IndexServed` (holding it).
    Thread-safe: reads and seeks are serialized.
    """

    def __init__(
        self,
        url: str,
        *,
        cache: BlockCache | None = None,
        block_size: int = DEFAULT_BLOCK_SIZE,
        transport: Transport | None = None,
        readahead: ReadAhead | None = None,
        large_read: int = DEFAULT_LARGE_READ,
        tail: int = DEFAULT_TAIL,
        ask_index: bool = False,
    ) -> None:
        super().__init__()
        if block_size <= 0:
            raise ValueError("block_size must be positive")
        self.url = url
        self.block_size = block_size
        self.large_read = large_read
        self._cache = cache if cache is not None else MemoryCache(DEFAULT_CACHE_BYTES)
        self._readahead = readahead or ReadAhead(
            max_blocks=DEFAULT_MAX_READAHEAD // block_size,
            near_blocks=DEFAULT_NEAR // block_size,
        )
        # No fetch threads: h5py calls read() holding its global lock, and a garbage
        # collection on a fetch thread that finalizes an h5py object (hdmf's __del__ asks
        # bool(h5py.File)) would wait for that lock while h5py waits for the thread.
        self._fetcher = HttpFetcher(url, transport, max_workers=0, ask_index=ask_index)
        self._lock = threading.RLock()
        self._pos = 0
        try:
            self._identity = self._open()
        except BaseException:
            self._fetcher.close()
            raise
        self._key = self._identity.key(url)
        self._last_block = max(0, (self.size - 1) // block_size)
        self._tail_block = (
            max(0, self.size - tail) // block_size if tail > 0 else self._last_block + 1
        )

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
    def index_url(self) -> str | None:
        """The index the server advertised for the object in an answer so far (a ``Link``
        with ``rel="describedby"`` and the ``.lindi.json`` media type), else None."""
        return self._fetcher.index_url

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
        if n >= self.large_read and not all(
            self._key_of(i) in self._cache for i in range(first, last + 1)
        ):
            out[:n] = self._exact(ByteRange(pos, pos + n))
            return n
        blocks = self._blocks(first, last)
        done = 0
        for index in range(first, last + 1):
            data = blocks[index]
            lo = pos + done - index * bs
            take = min(len(data) - lo, n - done)
            out[done : done + take] = data[lo : lo + take]
            done += take
        return n

    def _exact(self, want: ByteRange) -> bytes:
        """A large read: from the cache if this very range was read before (h5py reading a
        chunk again), else fetched exactly and cached as one entry of its own size."""
        key = BlockKey(f"{self._key} exact", want.length, want.start)
        data = self._cache.get(key)
        if data is None or len(data) != want.length:
            data = self._fetch_exactly(want)
            self._cache.put(key, data)
        return data

    def _fetch_exactly(self, want: ByteRange) -> bytes:
        try:
            data = self._fetcher.fetch([want])[0]
        except BlobChanged:
            self._cache.forget(self.url)
            raise
        if len(data) != want.length:
            raise StreamError(f"{self.url}: bytes {want.header()} came back short", url=self.url)
        return data

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
            if missing[0] >= self._tail_block:
                # The tail of the file: take all of it (see DEFAULT_TAIL).
                extra = min(max(extra, self._last_block - last), room)
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
