"""Turning chunk refs into bytes: inline data decoded, file refs fetched in batches.

A read of one selection hands every chunk ref it needs to :meth:`ChunkStore.load` at once.
Refs are grouped by the object they point into; cached chunks are taken from the cache
(keyed by the object's content, offset and size); the rest of each group go to that
object's :class:`~neuropil.index._range_sources.RangeSource` in a single call, which merges
neighbouring ranges and sends independent requests side by side. Groups for different
objects run in parallel too. LINDI, by contrast, sends one request per chunk, in turn.
"""

from __future__ import annotations

import posixpath
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urljoin, urlsplit

from neuropil.core.ranges import ByteRange
from neuropil.errors import InvalidIndex
from neuropil.index._format import expand_url, inline_bytes
from neuropil.index._range_sources import RangeSource
from neuropil.stream.cache import BlockCache, BlockKey, NoCache
from neuropil.stream.remote_file import StreamStats

#: Opens the source of one (absolute) URL or path.
Opener = Callable[[str], RangeSource]
#: ``on_ready(key, data)``: the bytes of one chunk ref are in.
OnChunk = Callable[[str, bytes], None]


class ChunkStore:
    """The bytes behind the refs of one index.

    ``base`` is where the index itself came from: relative ref URLs (``./data.h5``, as
    LINDI writes next to a local file) are resolved against it.
    """

    def __init__(
        self,
        templates: Mapping[str, str],
        opener: Opener,
        *,
        cache: BlockCache | None = None,
        base: str | None = None,
    ) -> None:
        self._templates = dict(templates)
        self._opener = opener
        self._cache = cache if cache is not None else NoCache()
        self._base = base
        self._sources: dict[str, RangeSource] = {}
        self._lock = threading.Lock()

    @property
    def stats(self) -> StreamStats:
        """Requests, bytes and retries of every source, and the chunk cache's counters."""
        with self._lock:
            sources = [s.stats for s in self._sources.values()]
        c = self._cache.stats
        return StreamStats(
            requests=sum(s.requests for s in sources),
            bytes=sum(s.bytes for s in sources),
            retries=sum(s.retries for s in sources),
            cache_hits=c.hits,
            cache_misses=c.misses,
            cache_bytes=c.bytes,
        )

    def close(self) -> None:
        with self._lock:
            sources, self._sources = list(self._sources.values()), {}
        for source in sources:
            source.close()

    def load(self, refs: Mapping[str, Any], on_ready: OnChunk | None = None) -> dict[str, bytes]:
        """The bytes of each ref value, by key (``refs`` maps keys to ref values).

        ``on_ready(key, data)`` is called once per key as soon as its bytes are known:
        inline and cached chunks first, fetched ones while their request still streams in
        (from the thread reading it), so the caller can decode them meanwhile.
        """
        out: dict[str, bytes] = {}
        wanted: dict[str, list[tuple[str, ByteRange]]] = {}
        for key, value in refs.items():
            if isinstance(value, str):
                out[key] = inline_bytes(value)
                if on_ready is not None:
                    on_ready(key, out[key])
            elif isinstance(value, list) and len(value) == 3:
                url, offset, size = value
                where = self._resolve(str(url))
                wanted.setdefault(where, []).append((key, _range(key, offset, size)))
            else:
                raise InvalidIndex(f"{key} is not a chunk ref: {value!r}")
        groups = list(wanted.items())
        if len(groups) == 1:
            where, items = groups[0]
            out.update(self._load_group(where, items, on_ready))
        elif groups:
            with ThreadPoolExecutor(min(8, len(groups))) as pool:
                for part in pool.map(lambda g: self._load_group(g[0], g[1], on_ready), groups):
                    out.update(part)
        return out

    def _load_group(
        self, where: str, items: list[tuple[str, ByteRange]], on_ready: OnChunk | None
    ) -> dict[str, bytes]:
        source = self._source(where)
        identity = source.identity()
        out: dict[str, bytes] = {}
        missing: list[tuple[str, ByteRange]] = []
        for key, want in items:
            data = self._cache.get(_block(identity, want)) if identity is not None else None
            if data is not None and len(data) == want.length:
                out[key] = data
                if on_ready is not None:
                    on_ready(key, data)
            else:
                missing.append((key, want))
        if not missing:
            return out

        def arrived(i: int, data: bytes) -> None:
            key, want = missing[i]
            known = source.identity()  # learnt from the first answer, if not known before
            if known is not None:
                self._cache.put(_block(known, want), data)
            if on_ready is not None:
                on_ready(key, data)

        datas = source.read([want for _, want in missing], arrived)
        out.update((key, data) for (key, _), data in zip(missing, datas, strict=True))
        return out

    def _source(self, where: str) -> RangeSource:
        with self._lock:
            source = self._sources.get(where)
            if source is None:
                source = self._sources[where] = self._opener(where)
            return source

    def _resolve(self, url: str) -> str:
        url = expand_url(url, self._templates)
        if urlsplit(url).scheme in ("http", "https") or self._base is None:
            return url
        if urlsplit(self._base).scheme in ("http", "https"):
            return urljoin(self._base, url)
        if posixpath.isabs(url):
            return url
        return posixpath.normpath(posixpath.join(posixpath.dirname(self._base), url))


def _range(key: str, offset: Any, size: Any) -> ByteRange:
    try:
        return ByteRange(int(offset), int(offset) + int(size))
    except (TypeError, ValueError) as exc:
        raise InvalidIndex(f"{key} has an invalid byte range: {offset!r}, {size!r}") from exc


def _block(identity: str, want: ByteRange) -> BlockKey:
    # A chunk is cached as a "block" of its own size, at its offset: the key names the
    # object's content, the offset and the size, which is all that identifies the bytes.
    return BlockKey(identity, want.length, want.start)
