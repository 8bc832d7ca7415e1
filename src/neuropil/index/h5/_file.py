"""An index opened as an ``h5py.File``: the root group, references, chunk loading, stats."""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import h5py
import numpy as np

from neuropil.errors import InvalidIndex
from neuropil.index._decode import ArrayMeta, decode_chunk
from neuropil.index._store import ChunkStore
from neuropil.index.h5._dataset import IndexDataset
from neuropil.index.h5._group import IndexGroup
from neuropil.index.h5._refs import IndexReference
from neuropil.index.h5._tree import Tree
from neuropil.stream.remote_file import StreamStats

#: Decoding is spread over threads (zlib and blosc release the GIL) past this many bytes.
_PARALLEL_DECODE_BYTES = 4 << 20
_DECODE_WORKERS = 4


class IndexFile(IndexGroup, h5py.File):  # type: ignore[misc]  # h5py is untyped
    """A read-only ``h5py.File`` look-alike over a ``.lindi.json``-style index.

    ``filename`` is what ``file.filename`` reports (pynwb records it as the source); the
    ``store`` fetches chunk bytes. Close it (or use ``with``) to release connections.
    """

    def __init__(self, index: Mapping[str, Any], store: ChunkStore, *, filename: str) -> None:
        refs = index.get("refs")
        if not isinstance(refs, Mapping):
            raise InvalidIndex("an index needs a 'refs' mapping")
        if ".zgroup" not in refs:
            raise InvalidIndex("the index has no root group ('.zgroup' is missing)")
        self._tree = Tree(refs)
        self._store = store
        self._filename = filename
        self._closed = False
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        super().__init__(self, "", "/")

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

    def close(self) -> None:
        """Release connections and threads (the index itself stays readable)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            pool, self._pool = self._pool, None
        self._store.close()
        if pool is not None:
            pool.shutdown(wait=True)

    def flush(self) -> None:
        pass

    # -- objects and references ------------------------------------------------------------------

    def _object(self, key: str, name: str) -> IndexGroup | IndexDataset:
        if self._tree.kind(key) == "dataset":
            return IndexDataset(self, key, name)
        return IndexGroup(self, key, name)

    def _dereference(self, ref: h5py.Reference) -> IndexGroup | IndexDataset:
        if not isinstance(ref, IndexReference):
            raise TypeError("only references read from this index can be dereferenced")
        if ref.path is None:
            raise ValueError("cannot dereference a null reference")
        obj = self[ref.path]
        found = obj.attrs.get("object_id")
        if ref.object_id is not None and found is not None and found != ref.object_id:
            raise InvalidIndex(
                f"a reference to {ref.path} names object {ref.object_id}, but the object "
                f"there is {found}: the index is inconsistent"
            )
        return obj

    # -- chunks -------------------------------------------------------------------------------

    def _chunks(
        self, meta: ArrayMeta, keys: Mapping[tuple[int, ...], str]
    ) -> dict[tuple[int, ...], np.ndarray[Any, Any] | None]:
        """Decoded chunks by grid index (``None``: not stored, i.e. the fill value)."""
        if self._closed:
            raise ValueError("the file is closed: reopen it to read data")
        refs = self._tree.refs
        present = {key: refs[key] for key in keys.values() if key in refs}
        payloads = self._store.load(present)
        decoded = self._decode(meta, payloads)
        return {index: decoded.get(key) for index, key in keys.items()}

    def _decode(
        self, meta: ArrayMeta, payloads: dict[str, bytes]
    ) -> dict[str, np.ndarray[Any, Any]]:
        items = list(payloads.items())
        total = sum(len(p) for _, p in items)
        if len(items) < 2 or total < _PARALLEL_DECODE_BYTES:
            return {key: decode_chunk(meta, payload) for key, payload in items}
        pool = self._decode_pool()
        batch = math.ceil(len(items) / _DECODE_WORKERS)
        parts = [items[i : i + batch] for i in range(0, len(items), batch)]
        out: dict[str, np.ndarray[Any, Any]] = {}
        for part in pool.map(lambda p: [(k, decode_chunk(meta, v)) for k, v in p], parts):
            out.update(part)
        return out

    def _decode_pool(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(_DECODE_WORKERS, "neuropil-decode")
            return self._pool
