"""Lazy reading of remote objects over HTTP range requests (for HDF5/NWB via h5py).

Three parts, as in fsspec's ``caching.py``: :class:`HttpFetcher` is the only code that talks
to the network (coalescing, concurrency, checks, retries); caches (:class:`NoCache`,
:class:`MemoryCache`, :class:`DiskCache`) keep fixed-size blocks and count hits, misses and
bytes; :class:`RemoteFile` is the thin file object that maps reads onto blocks, with
:class:`ReadAhead` deciding how far past a read to fetch.
"""

from neuropil.stream.cache import (
    BlockCache,
    BlockKey,
    CacheStats,
    DiskCache,
    MemoryCache,
    NoCache,
)
from neuropil.stream.fetch import BlobIdentity, FetchStats, HttpFetcher, IndexServed
from neuropil.stream.readahead import ReadAhead
from neuropil.stream.remote_file import RemoteFile, StreamStats

__all__ = [
    "BlobIdentity",
    "BlockCache",
    "BlockKey",
    "CacheStats",
    "DiskCache",
    "FetchStats",
    "HttpFetcher",
    "IndexServed",
    "MemoryCache",
    "NoCache",
    "ReadAhead",
    "RemoteFile",
    "StreamStats",
]
