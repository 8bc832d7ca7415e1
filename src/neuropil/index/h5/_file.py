"""An index opened as an ``h5py.File``: the root group joined to the core it reads through."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from neuropil.index._store import ChunkStore
from neuropil.index.h5._core import FileCore
from neuropil.index.h5._group import IndexGroup
from neuropil.stream.remote_file import StreamStats


class IndexFile(IndexGroup, FileCore):  # type: ignore[misc]  # h5py is untyped
    """A read-only ``h5py.File`` look-alike over a ``.lindi.json``-style index.

    ``filename`` is what ``file.filename`` reports (pynwb records it as the source); the
    ``store`` fetches chunk bytes. Close it (or use ``with``) to release connections.
    """

    def __init__(self, index: Mapping[str, Any], store: ChunkStore, *, filename: str) -> None:
        FileCore.__init__(self, index, store, filename=filename)
        IndexGroup.__init__(self, self, "", "/")

    # -- h5py.File ----------------------------------------------------------------------------

    @property
    def filename(self) -> str:
        return self._filename

    @property
    def mode(self) -> str:
        return "r"

    @property
    def driver(self) -> str:
        return "neuropil-index"

    @property
    def libver(self) -> tuple[str, str]:
        return ("earliest", "latest")

    @property
    def userblock_size(self) -> int:
        return 0

    @property
    def swmr_mode(self) -> bool:
        return False

    @property
    def parent(self) -> IndexGroup:
        return self

    @property
    def stats(self) -> StreamStats:
        """Requests and bytes spent on chunks so far, and the chunk cache's counters."""
        return self._store.stats

    def __bool__(self) -> bool:
        return not self._closed

    def __repr__(self) -> str:
        state = "closed" if self._closed else "mode r"
        return f'<HDF5 file "{self._filename}" ({state}) from an index>'

    def __enter__(self) -> IndexFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def flush(self) -> None:
        pass
