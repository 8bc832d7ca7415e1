"""A blob's index, parsed once and kept, opened as a file whose chunks come from the store.

The index comes from :mod:`neuropil.services.indexes` (which says when it is still being
built or will never exist); parsed indexes are kept in a small LRU keyed by blob and index
digest, so a file page and its preview images parse the JSON once. Chunk bytes are read from
the blob store directly (``store.read`` with a byte range), never over HTTP, and nothing
names the store's paths, which stay out of error messages.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from neuropil.core.ranges import ByteRange
from neuropil.errors import CorruptHdf5, NotFound
from neuropil.index import IndexFile, open_index
from neuropil.services import indexes
from neuropil.services.assets import BlobRecord
from neuropil.services.context import Context
from neuropil.storage import BlobStore
from neuropil.stream import NoCache

#: Indexes larger than this are not parsed for previews (the JSON of a file with millions
#: of chunks; parsing costs about ten times its size in memory).
MAX_INDEX_BYTES = 32 << 20
#: What the cache keeps: a few files' worth (a page and its images need the same one).
CACHE_ENTRIES = 8
CACHE_BYTES = 64 << 20


class IndexTooLarge(NotFound):
    """The index exists but is too large to show here."""


@dataclass(frozen=True)
class LoadedIndex:
    """A parsed index of one blob (its ``refs`` and format members)."""

    blob_id: str
    digest: str
    size: int
    doc: Mapping[str, Any]

    @property
    def refs(self) -> Mapping[str, Any]:
        refs = self.doc.get("refs")
        return refs if isinstance(refs, Mapping) else {}


class _Cache:
    def __init__(self) -> None:
        self._items: OrderedDict[tuple[str, str], LoadedIndex] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str]) -> LoadedIndex | None:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, loaded: LoadedIndex) -> None:
        with self._lock:
            self._items[(loaded.blob_id, loaded.digest)] = loaded
            while len(self._items) > CACHE_ENTRIES or (
                len(self._items) > 1 and sum(i.size for i in self._items.values()) > CACHE_BYTES
            ):
                self._items.popitem(last=False)


_CACHE = _Cache()


def load_index(ctx: Context, blob: BlobRecord) -> LoadedIndex:
    """The blob's parsed index.

    Raises :class:`~neuropil.services.indexes.IndexPending` while it is being built,
    :class:`~neuropil.services.indexes.NoIndex` when there is none, :class:`IndexTooLarge`.
    """
    status = indexes.read_status(ctx.store, blob.blob_id)
    if status is not None and status.state == indexes.BUILT and status.blob_etag == blob.etag:
        cached = _CACHE.get((blob.blob_id, status.digest))
        if cached is not None:
            return cached
        if status.size > MAX_INDEX_BYTES:
            raise IndexTooLarge(_too_large(status.size))
    served = indexes.served_index(ctx, blob, blob_id=blob.blob_id, blob_url="")
    if len(served.body) > MAX_INDEX_BYTES:
        raise IndexTooLarge(_too_large(len(served.body)))
    status = indexes.read_status(ctx.store, blob.blob_id)
    digest = status.digest if status is not None else served.etag
    try:
        doc = json.loads(served.body)
    except ValueError as exc:
        raise CorruptHdf5(f"the index of this file cannot be read: {exc}") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("refs"), dict):
        raise CorruptHdf5("the index of this file has no object tree")
    loaded = LoadedIndex(blob.blob_id, digest, len(served.body), doc)
    _CACHE.put(loaded)
    return loaded


def _too_large(size: int) -> str:
    return (
        f"The index of this file is {size // (1 << 20)} MiB, too large to preview here "
        "(open the file with neuropil.open or a viewer instead)."
    )


def open_blob(store: BlobStore, blob: BlobRecord, loaded: LoadedIndex) -> IndexFile:
    """The indexed file, reading chunk bytes from the store (close it after use)."""
    name = f"blob {blob.blob_id}"

    def fetch(_url: str, offset: int, size: int) -> bytes:
        try:
            data = b"".join(store.read(blob.key, ByteRange(offset, offset + size)))
        except KeyError as exc:
            raise NotFound(f"the bytes of {name} are missing") from exc
        if len(data) != size:
            raise CorruptHdf5(f"{name} ends before a chunk its index names (at byte {offset})")
        return data

    doc = {**loaded.doc, "templates": {"u1": name}}
    return open_index(doc, fetch, cache=NoCache(), filename=name)
