"""Opening an index dict as an h5py-compatible file.

:func:`open_index` wires the pieces: the object tree and values (:mod:`neuropil.index.h5`),
the chunk store (:mod:`neuropil.index._store`) and where chunk bytes come from
(:mod:`neuropil.index._range_sources`): HTTP(S) URLs through
:class:`~neuropil.stream.HttpFetcher`, local paths read directly, or a caller's
``fetch(url, offset, size)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from neuropil.http.transport import Transport
from neuropil.index._range_sources import (
    CallableSource,
    Fetch,
    HttpSource,
    LocalSource,
    RangeSource,
)
from neuropil.index._store import ChunkStore
from neuropil.index.h5 import IndexFile
from neuropil.stream.cache import BlockCache, MemoryCache

#: Chunk cache of a file opened without one: a bound (enforced on every put) large enough
#: for the working set of typical reads of a large ElectricalSeries (dozens of ~6 MB chunks).
DEFAULT_CACHE_BYTES = 256 << 20


def open_index(
    index: Mapping[str, Any],
    fetch: Fetch | None = None,
    *,
    cache: BlockCache | None = None,
    transport: Transport | None = None,
    base: str | None = None,
    filename: str | None = None,
) -> IndexFile:
    """Open an index dict (as :func:`~neuropil.index.build_index` returns it, or parsed
    from a ``.lindi.json`` file) as a read-only ``h5py.File``.

    ``fetch`` replaces the built-in sources (tests, custom stores). ``cache`` keeps chunk
    bytes (default: a private memory cache; pass a :class:`~neuropil.stream.DiskCache` to
    share them between processes). ``transport`` supplies the HTTP client and token.
    ``base`` is where the index came from: relative ref URLs are resolved against it.
    ``filename`` is what ``file.filename`` reports (default: ``base`` or the data URL).
    """
    cache = cache if cache is not None else MemoryCache(DEFAULT_CACHE_BYTES)

    def opener(url: str) -> RangeSource:
        if fetch is not None:
            return CallableSource(url, fetch)
        if urlsplit(url).scheme in ("http", "https"):
            return HttpSource(url, transport, cache)
        return LocalSource(url)

    templates = index.get("templates") or {}
    store = ChunkStore(templates, opener, cache=cache, base=base)
    name = filename or base or next(iter(templates.values()), None) or "<index>"
    return IndexFile(index, store, filename=str(name))
