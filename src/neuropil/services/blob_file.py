"""A stored object as a read-only, seekable binary file (for h5py and the index builder).

The local store hands the builder a real path; other stores (S3, memory) only offer
``read(key, range)``. :class:`BlobFile` maps ``seek``/``readinto`` onto ranged reads of
fixed, aligned blocks and keeps the last few in a small LRU, because HDF5 metadata is read
as many small, nearby pieces: a block fetched for one read serves the next dozen.
"""

from __future__ import annotations

import io
import os
from collections import OrderedDict
from typing import TYPE_CHECKING

from neuropil.core.ranges import ByteRange
from neuropil.storage import BlobStore

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

#: One ranged read of the store; HDF5 object headers and B-tree nodes are a few KiB.
BLOCK_SIZE = 256 << 10
#: Blocks kept: 16 MiB, enough for the metadata working set of large NWB files.
MAX_BLOCKS = 64


class StoreReadError(OSError):
    """The store failed to deliver bytes of an object it holds (a transient fault, not the
    file's content): the caller retries rather than judging the file."""


class BlobFile(io.RawIOBase):
    """The object ``key`` of ``store`` (``size`` bytes) as a read-only binary file.

    The store's failures are remembered in :attr:`error`, and the read comes back short (as
    at the end of the file) instead of raising: an exception raised inside HDF5's file-object
    callbacks can leave a half-opened file in the library that crashes the interpreter when
    it closes it at exit. HDF5 reports the short read as a truncated file; the caller must
    check :attr:`error` to tell "the store failed" (retry later) from "the bytes are not
    valid HDF5" (a final verdict).
    """

    def __init__(
        self,
        store: BlobStore,
        key: str,
        size: int,
        *,
        name: str | None = None,
        block_size: int = BLOCK_SIZE,
        max_blocks: int = MAX_BLOCKS,
    ) -> None:
        super().__init__()
        if block_size <= 0 or max_blocks <= 0:
            raise ValueError("block_size and max_blocks must be positive")
        self.store = store
        self.key = key
        self.size = size
        self.name = name or key
        self.block_size = block_size
        self.max_blocks = max_blocks
        self.error: StoreReadError | None = None
        self.reads = 0  # ranged reads sent to the store (for tests and logs)
        self._pos = 0
        self._blocks: OrderedDict[int, bytes] = OrderedDict()

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._pos, os.SEEK_END: self.size}.get(whence)
        if base is None:
            raise ValueError(f"invalid whence {whence}")
        if base + offset < 0:
            raise ValueError("negative seek position")
        self._pos = base + offset
        return self._pos

    def readinto(self, buffer: WriteableBuffer) -> int:
        with memoryview(buffer) as view, view.cast("B") as out:
            want = max(0, min(len(out), self.size - self._pos))
            done = 0
            while done < want and self.error is None:
                index, skip = divmod(self._pos + done, self.block_size)
                block = self._block(index)
                if block is None:
                    break
                n = min(len(block) - skip, want - done)
                out[done : done + n] = block[skip : skip + n]
                done += n
            self._pos += done
            return done

    def _block(self, index: int) -> bytes | None:
        block = self._blocks.get(index)
        if block is not None:
            self._blocks.move_to_end(index)
            return block
        start = index * self.block_size
        stop = min(start + self.block_size, self.size)
        try:
            block = b"".join(self.store.read(self.key, ByteRange(start, stop)))
        except Exception as exc:
            self.error = StoreReadError(f"reading {self.name} from the store failed: {exc!r}")
            self.error.__cause__ = exc
            return None
        self.reads += 1
        if len(block) != stop - start:
            self.error = StoreReadError(
                f"the store returned {len(block)} bytes of {self.name} at offset {start}, "
                f"not {stop - start}"
            )
            return None
        self._blocks[index] = block
        if len(self._blocks) > self.max_blocks:
            self._blocks.popitem(last=False)
        return block
