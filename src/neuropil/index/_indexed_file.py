"""The file being indexed: signature check, byte reads and bounds, h5py errors translated."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import BinaryIO

import h5py

from neuropil.errors import CorruptHdf5, NotHdf5

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


class SourceFile:
    """Random access to the indexed file's bytes, with the size known up front.

    h5py reads through the same handle; that is safe because both sides seek before
    every read and the builder is single-threaded.
    """

    def __init__(self, handle: BinaryIO, *, name: str) -> None:
        self.handle = handle
        self.name = name
        self.size = handle.seek(0, io.SEEK_END)

    def read(self, offset: int, size: int) -> bytes:
        """``size`` bytes at ``offset``; a short read means the file is truncated."""
        self.check_range(offset, size)
        self.handle.seek(offset)
        data = self.handle.read(size)
        if len(data) != size:
            raise CorruptHdf5(f"{self.name}: short read of {size} bytes at offset {offset}")
        return data

    def check_range(self, offset: int, size: int) -> None:
        """Raise :class:`CorruptHdf5` for a byte range that does not lie within the file."""
        if offset < 0 or size < 0 or offset + size > self.size:
            raise CorruptHdf5(
                f"{self.name} is truncated: data at bytes {offset}-{offset + size} lie past "
                f"its end ({self.size} bytes)"
            )

    def has_signature(self) -> bool:
        """Whether an HDF5 superblock signature is where HDF5 looks for one.

        The superblock sits at byte 0 or, after a user block, at 512, 1024, 2048, ...
        """
        offset = 0
        while offset + len(HDF5_SIGNATURE) <= self.size:
            self.handle.seek(offset)
            if self.handle.read(len(HDF5_SIGNATURE)) == HDF5_SIGNATURE:
                return True
            offset = 512 if offset == 0 else offset * 2
        return False


@contextmanager
def open_hdf5(
    source: str | Path | BinaryIO, *, name: str | None = None
) -> Iterator[tuple[SourceFile, h5py.File]]:
    """Open ``source`` (a path or a seekable binary file object) for indexing.

    A path is opened by HDF5 itself, not through a Python file object: when HDF5 fails half
    way through opening a file object (a truncated or damaged file), it keeps a reference to
    it that crashes the interpreter at exit (h5py 3.16 / HDF5 2.0). File objects (remote
    files, store blobs) still take that path; see docs/design/streaming.md.
    ``name`` replaces the path in error messages (the server must not show its paths).
    """
    with ExitStack() as stack:
        if isinstance(source, str | Path):
            handle: BinaryIO = stack.enter_context(open(source, "rb"))
            target: str | BinaryIO = str(source)
            label = name or str(source)
        else:
            handle = target = source
            label = name or str(getattr(source, "name", "<file object>"))
        src = SourceFile(handle, name=label)
        if not src.has_signature():
            raise NotHdf5(f"{src.name} is not an HDF5 file (no HDF5 signature found)")
        try:
            file = stack.enter_context(h5py.File(target, "r"))
        except OSError as exc:
            message = str(exc).replace(str(source), label) if name else str(exc)
            raise CorruptHdf5(f"{src.name} is a damaged or truncated HDF5 file: {message}") from exc
        yield src, file
