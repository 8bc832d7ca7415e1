"""Block caches for :class:`~neuropil.stream.RemoteFile`: one small interface, three strategies.

A block is ``block_size`` bytes of an object at a block index; its key names the object by
content (a strong ETag and the size) where the server gives one, so a cache survives presigned
URLs that change on every request and never serves bytes of another version of an object.

- :class:`NoCache` keeps nothing (each read goes to the network).
- :class:`MemoryCache` is an LRU of blocks whose byte bound is enforced on every ``put``.
- :class:`DiskCache` keeps one file per block, shared by threads and processes (see there).

Every cache also remembers what a URL named last time (:class:`BlobIdentity`), so reopening a
file whose blocks are cached needs no request at all.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import threading
import time
from abc import ABC, abstractmethod
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from neuropil.stream.fetch import BlobIdentity


@dataclass(frozen=True)
class BlockKey:
    """Block ``index`` (of ``block_size`` bytes) of the object named by ``identity``."""

    identity: str
    block_size: int
    index: int

    def text(self) -> str:
        return f"{self.identity}|{self.block_size}|{self.index}"


@dataclass
class CacheStats:
    """Lookups that found a block, lookups that did not, and bytes served from the cache."""

    hits: int = 0
    misses: int = 0
    bytes: int = 0


class BlockCache(ABC):
    """The interface every strategy implements; implementations are thread-safe."""

    @property
    @abstractmethod
    def capacity(self) -> int:
        """Bytes of blocks the cache can hold: read-ahead beyond it would evict itself."""

    def __init__(self) -> None:
        self.stats = CacheStats()
        self._stats_lock = threading.Lock()

    def get(self, key: BlockKey) -> bytes | None:
        """The block's bytes, or None; counted as a hit or a miss."""
        data = self._get(key)
        with self._stats_lock:
            if data is None:
                self.stats.misses += 1
            else:
                self.stats.hits += 1
                self.stats.bytes += len(data)
        return data

    @abstractmethod
    def _get(self, key: BlockKey) -> bytes | None: ...

    @abstractmethod
    def put(self, key: BlockKey, data: bytes) -> None:
        """Keep a block (or not: a cache may drop anything at any time)."""

    @abstractmethod
    def __contains__(self, key: BlockKey) -> bool:
        """Whether a block is held, without counting a lookup or refreshing its age."""

    @abstractmethod
    def identity(self, url: str) -> BlobIdentity | None:
        """What ``url`` named when it was last read through this cache."""

    @abstractmethod
    def remember(self, url: str, identity: BlobIdentity) -> None:
        """Record what ``url`` names now."""

    @abstractmethod
    def forget(self, url: str) -> None:
        """Drop the record for ``url`` (it turned out to name something else)."""


class NoCache(BlockCache):
    """Keeps nothing: every block is fetched when read (and nothing is read ahead)."""

    @property
    def capacity(self) -> int:
        return 0

    def _get(self, key: BlockKey) -> bytes | None:
        return None

    def put(self, key: BlockKey, data: bytes) -> None:
        pass

    def __contains__(self, key: BlockKey) -> bool:
        return False

    def identity(self, url: str) -> BlobIdentity | None:
        return None

    def remember(self, url: str, identity: BlobIdentity) -> None:
        pass

    def forget(self, url: str) -> None:
        pass


class MemoryCache(BlockCache):
    """Least-recently-used blocks in memory, never more than ``max_bytes`` of them.

    The bound is checked on every ``put`` (remfile's is checked only on some reads and then
    only halves the cache, so it grows past its limit); a block larger than the whole bound is
    not kept at all.
    """

    def __init__(self, max_bytes: int = 64 << 20) -> None:
        super().__init__()
        if max_bytes < 0:
            raise ValueError("max_bytes must be >= 0")
        self.max_bytes = max_bytes
        self._blocks: OrderedDict[BlockKey, bytes] = OrderedDict()
        self._identities: dict[str, BlobIdentity] = {}
        self._lock = threading.Lock()
        self.used = 0

    def __len__(self) -> int:
        return len(self._blocks)

    @property
    def capacity(self) -> int:
        return self.max_bytes

    def _get(self, key: BlockKey) -> bytes | None:
        with self._lock:
            data = self._blocks.get(key)
            if data is not None:
                self._blocks.move_to_end(key)
            return data

    def put(self, key: BlockKey, data: bytes) -> None:
        if len(data) > self.max_bytes:
            return
        with self._lock:
            old = self._blocks.pop(key, None)
            self.used -= len(old) if old is not None else 0
            self._blocks[key] = data
            self.used += len(data)
            while self.used > self.max_bytes:
                _, dropped = self._blocks.popitem(last=False)
                self.used -= len(dropped)

    def __contains__(self, key: BlockKey) -> bool:
        with self._lock:
            return key in self._blocks

    def identity(self, url: str) -> BlobIdentity | None:
        with self._lock:
            return self._identities.get(url)

    def remember(self, url: str, identity: BlobIdentity) -> None:
        with self._lock:
            self._identities[url] = identity

    def forget(self, url: str) -> None:
        with self._lock:
            self._identities.pop(url, None)


#: After an eviction the directory holds at most this share of ``max_bytes``, so that not
#: every following ``put`` has to scan it again.
LOW_WATER = 0.9
#: A temporary file older than this was left by a writer that died.
STALE_TMP_SECONDS = 3600.0


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _write_atomically(path: Path, data: bytes) -> None:
    """Write to a temporary name, then rename: readers see the whole file or none. (No
    fsync: a block torn by a power cut has the wrong length, and readers check lengths.)"""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


class DiskCache(BlockCache):
    """One file per block below ``directory``, about ``max_bytes`` of them at most.

    Layout: ``blocks/<ab>/<sha256 of the block key>`` and ``objects/<sha256 of the URL>.json``
    (what a URL named). Several threads and processes may share a directory: files are
    written under a temporary name and renamed into place, eviction deletes the files least
    recently used (a hit refreshes a file's mtime), and a file that vanishes under a reader is
    a miss. Each process counts the bytes it writes and rescans the directory when its count
    passes the bound or after writing an eighth of it, so other processes' writes count too;
    the bound can be overshot by that eighth per writing process until the next scan.
    """

    def __init__(self, directory: str | os.PathLike[str], max_bytes: int = 1 << 30) -> None:
        super().__init__()
        if max_bytes < 0:
            raise ValueError("max_bytes must be >= 0")
        self.directory = Path(directory)
        self.max_bytes = max_bytes
        self._blocks = self.directory / "blocks"
        self._objects = self.directory / "objects"
        self._blocks.mkdir(parents=True, exist_ok=True)
        self._objects.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._used: int | None = None  # at the last scan, plus what we wrote since
        self._since_scan = 0

    @property
    def capacity(self) -> int:
        return self.max_bytes

    def _path(self, key: BlockKey) -> Path:
        digest = _sha(key.text())
        return self._blocks / digest[:2] / digest

    def _get(self, key: BlockKey) -> bytes | None:
        path = self._path(key)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        with contextlib.suppress(OSError):
            os.utime(path)  # recently used: evicted last
        return data

    def __contains__(self, key: BlockKey) -> bool:
        return self._path(key).exists()

    def put(self, key: BlockKey, data: bytes) -> None:
        if len(data) > self.max_bytes:
            return
        _write_atomically(self._path(key), data)
        with self._lock:
            if self._used is None:
                self._used = self._scan_and_evict()
            else:
                self._used += len(data)
                self._since_scan += len(data)
            if self._used > self.max_bytes or self._since_scan * 8 > self.max_bytes:
                self._used = self._scan_and_evict()
                self._since_scan = 0

    @property
    def used(self) -> int:
        """Bytes of blocks on disk now (a full scan)."""
        return sum(size for _, size, _ in self._scan())

    def _scan(self) -> list[tuple[float, int, Path]]:
        """(mtime, size, path) of every block file; clears out abandoned temporary files."""
        found = []
        now = time.time()
        for sub in _entries(self._blocks):
            for entry in _entries(Path(sub.path)):
                try:
                    st = entry.stat()
                except FileNotFoundError:
                    continue  # evicted by another process meanwhile
                if entry.name.endswith(".tmp"):
                    if now - st.st_mtime > STALE_TMP_SECONDS:
                        with contextlib.suppress(OSError):
                            os.unlink(entry.path)
                    continue
                found.append((st.st_mtime, st.st_size, Path(entry.path)))
        return found

    def _scan_and_evict(self) -> int:
        """Delete least recently used blocks until under the low-water mark; bytes left."""
        files = self._scan()
        total = sum(size for _, size, _ in files)
        if total <= self.max_bytes:
            return total
        for _, size, path in sorted(files):
            if total <= self.max_bytes * LOW_WATER:
                break
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            total -= size  # gone either way: we deleted it or another process did
        return total

    def _identity_path(self, url: str) -> Path:
        return self._objects / f"{_sha(url)}.json"

    def identity(self, url: str) -> BlobIdentity | None:
        try:
            record = json.loads(self._identity_path(url).read_text())
            if record["url"] != url:
                return None
            return BlobIdentity(size=int(record["size"]), etag=record["etag"])
        except (OSError, ValueError, KeyError, TypeError):
            return None  # missing, or written by something else: read as unknown

    def remember(self, url: str, identity: BlobIdentity) -> None:
        record = {"url": url, "size": identity.size, "etag": identity.etag}
        _write_atomically(self._identity_path(url), json.dumps(record).encode())

    def forget(self, url: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._identity_path(url).unlink()


def _entries(directory: Path) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(directory) as it:
            return list(it)
    except FileNotFoundError:
        return []
