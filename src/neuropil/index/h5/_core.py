"""What every object of an open index reads through: the object tree and the chunks.

:class:`FileCore` is the lower half of :class:`~neuropil.index.h5.IndexFile`. Groups and
datasets hold it as their file and call only what is here, so they sit above it and the
file (which *is* the root group) sits above them. The one thing they need from the upper
half, opening an object by path, is the ``__getitem__`` hook, which ``IndexFile`` answers
with its root group's lookup.
"""

from __future__ import annotations

import abc
import os
import threading
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import h5py
import numpy as np

from neuropil.errors import InvalidIndex
from neuropil.index._decode import ArrayMeta, decode_chunk
from neuropil.index._select import Selection
from neuropil.index._store import ChunkStore
from neuropil.index.h5._tree import Tree

#: Decoding is spread over threads (zlib and blosc release the GIL) past this many bytes.
_PARALLEL_DECODE_BYTES = 4 << 20
#: One decoding thread per core: more only queue up for the same cores.
_DECODE_WORKERS = max(2, min(8, os.cpu_count() or 2))


class FileCore(h5py.File, metaclass=abc.ABCMeta):  # type: ignore[misc]  # h5py is untyped
    """The state of an open index and the reads its objects make through it.

    Never used on its own: :class:`~neuropil.index.h5.IndexFile` adds the root group and
    the rest of ``h5py.File``. h5py's constructor is not called: nothing here opens HDF5.
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

    @abc.abstractmethod
    def __getitem__(self, name: Any) -> Any:
        """The object at an absolute path (``IndexFile`` answers with its root group)."""

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

    # -- chunks -------------------------------------------------------------------------------

    def _read_chunks(
        self, meta: ArrayMeta, selection: Selection, keys: Mapping[tuple[int, ...], str]
    ) -> np.ndarray[Any, Any]:
        """The elements ``selection`` picks, from the chunks ``keys`` names (by grid index).

        Chunks that are not stored keep the fill value. Past a few MiB of chunks, each chunk
        is decoded and copied into place on a thread pool as soon as its bytes are in,
        while the rest of its request still streams: inflating (zlib and blosc release the
        GIL) overlaps the network and spreads over the cores.
        """
        if self._closed:
            raise ValueError("the file is closed: reopen it to read data")
        refs = self._tree.refs
        present = {key: refs[key] for key in keys.values() if key in refs}
        index_of = {key: index for index, key in keys.items()}
        out = meta.empty(selection.shape)

        def place(key: str, payload: bytes) -> None:
            src, dst = selection.placement(index_of[key], meta.chunks)
            rows = _rows_needed(src[0], meta.chunks[0]) if src else None
            out[dst] = decode_chunk(meta, payload, rows)[src]

        if len(present) < 2 or _stored_bytes(present) < _PARALLEL_DECODE_BYTES:
            for key, payload in self._store.load(present).items():
                place(key, payload)
            return selection.finish(out)
        pool = self._decode_pool()
        futures: list[Future[None]] = []
        try:
            self._store.load(present, lambda k, p: futures.append(pool.submit(place, k, p)))
        except BaseException:
            for future in futures:
                future.cancel()
            raise
        for future in futures:
            future.result()
        return selection.finish(out)

    def _decode_pool(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(_DECODE_WORKERS, "neuropil-decode")
            return self._pool


def _stored_bytes(refs: Mapping[str, Any]) -> int:
    """Bytes of chunk data behind ``refs`` (file refs by their size, inline by length)."""
    total = 0
    for value in refs.values():
        if isinstance(value, list) and len(value) == 3 and isinstance(value[2], int):
            total += value[2]
        elif isinstance(value, str):
            total += len(value)
    return total


def _rows_needed(picks: slice | np.ndarray[Any, Any], extent: int) -> int:
    """How many leading positions of a chunk's first axis a selection of it reaches."""
    if isinstance(picks, slice):
        taken = range(extent)[picks]
        return max(taken[0], taken[-1]) + 1 if len(taken) else 0
    return int(picks.max()) + 1 if len(picks) else 0
