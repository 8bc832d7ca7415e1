"""A persistent cache of local files' dandi-etags, so a re-upload does not re-read every byte.

Entries are keyed by the file's fingerprint, as the official client's fscacher does: the
symlink-resolved path plus size, mtime_ns, ctime_ns and inode. Any change to the file
changes one of them, so a stale digest is never used. Files modified in the last
:data:`FRESH_SECONDS` are not cached: a write landing within the filesystem's timestamp
granularity could otherwise leave the fingerprint unchanged.

The cache is one SQLite file (``platformdirs.user_cache_dir("neuropil")/digests.sqlite``,
or ``$NEUROPIL_CACHE_DIR/digests.sqlite``) in WAL mode, so several uploads in parallel
processes share it safely. A cache that cannot be opened is simply not used.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from neuropil.core.digests import Part, etag_from_part_md5s, parts_for_size

log = logging.getLogger(__name__)

CACHE_ENV = "NEUROPIL_CACHE_DIR"
CACHE_FILE = "digests.sqlite"
#: Files changed more recently than this are hashed but not remembered.
FRESH_SECONDS = 2.0
READ_BLOCK = 8 << 20

_SCHEMA = """
CREATE TABLE IF NOT EXISTS digests (
    path TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    ctime_ns INTEGER NOT NULL,
    inode INTEGER NOT NULL,
    etag TEXT NOT NULL,
    part_md5s TEXT NOT NULL,
    stored REAL NOT NULL
)
"""


@dataclass(frozen=True)
class Fingerprint:
    """What identifies one state of a file's content without reading it."""

    path: str
    size: int
    mtime_ns: int
    ctime_ns: int
    inode: int

    @classmethod
    def of(cls, path: Path) -> Fingerprint:
        real = os.path.realpath(path)
        st = os.stat(real)
        return cls(real, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)

    def is_fresh(self, now: float | None = None) -> bool:
        """Written so recently that a further write might leave the mtime unchanged.

        Only the mtime counts: an old mtime with a new ctime (``cp -p``, ``touch -d``)
        means a later write would move the mtime to "now", changing the fingerprint.
        """
        now = now if now is not None else time.time()
        return abs(now - self.mtime_ns / 1e9) < FRESH_SECONDS


@dataclass(frozen=True)
class Digest:
    """A file's dandi-etag and the md5 of each of its upload parts (to check part PUTs)."""

    etag: str
    part_md5s: tuple[str, ...]
    size: int


def default_cache_dir() -> Path:
    override = os.environ.get(CACHE_ENV)
    return Path(override) if override else Path(platformdirs.user_cache_dir("neuropil"))


def compute_digest(path: Path, size: int, *, threads: int | None = None) -> Digest:
    """Read ``path`` once and compute its dandi-etag and part md5s.

    Parts are independent md5s, so a multi-part file is hashed by several threads at once
    (``hashlib`` releases the GIL), one part each: the first file of an upload starts
    sending that much sooner. A file that changes size while it is read raises ``ValueError``.
    """
    parts = parts_for_size(size)
    workers = min(len(parts), threads or min(4, os.cpu_count() or 1))
    fd = os.open(path, os.O_RDONLY)
    try:
        if workers <= 1:
            md5s = [_part_md5(fd, p) for p in parts]
        else:
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="digest") as pool:
                md5s = list(pool.map(lambda p: _part_md5(fd, p), parts))
        if os.fstat(fd).st_size != size:
            raise ValueError(f"{path} changed size while it was hashed")
    finally:
        os.close(fd)
    return Digest(etag_from_part_md5s(md5s), tuple(md5s), size)


def _part_md5(fd: int, part: Part) -> str:
    h = hashlib.md5()
    offset, end = part.offset, part.offset + part.size
    while offset < end:
        block = os.pread(fd, min(READ_BLOCK, end - offset), offset)
        if not block:
            raise ValueError(f"the file ended at byte {offset}, before its declared size")
        h.update(block)
        offset += len(block)
    return h.hexdigest()


class DigestCache:
    """Digests by fingerprint; thread-safe, and shared across processes through SQLite."""

    def __init__(self, directory: Path | None = None) -> None:
        self.path = (directory or default_cache_dir()) / CACHE_FILE
        self.hits = 0
        self.computed = 0
        self._lock = threading.Lock()
        self._db = self._open()

    def _open(self) -> sqlite3.Connection | None:
        # Switching to WAL and creating the table need a moment of exclusive access, which
        # SQLite's busy timeout does not always wait for: several uploads starting at once
        # (other processes) retry briefly instead of giving up on the cache.
        deadline = time.monotonic() + 10
        while True:
            try:
                return self._connect()
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    log.warning(
                        "digest cache %s unavailable (%s); hashing without it", self.path, exc
                    )
                    return None
                time.sleep(0.05)
            except (OSError, sqlite3.Error) as exc:
                log.warning("digest cache %s unavailable (%s); hashing without it", self.path, exc)
                return None

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")  # a lost entry costs one re-hash, no more
            db.execute(_SCHEMA)
            db.commit()
        except BaseException:
            db.close()
            raise
        return db

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def __enter__(self) -> DigestCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def lookup(self, fp: Fingerprint) -> Digest | None:
        with self._lock:
            if self._db is None:
                return None
            try:
                row = self._db.execute(
                    "SELECT size, mtime_ns, ctime_ns, inode, etag, part_md5s"
                    " FROM digests WHERE path = ?",
                    (fp.path,),
                ).fetchone()
            except sqlite3.Error as exc:
                log.warning("digest cache lookup failed: %s", exc)
                return None
        if row is None or tuple(row[:4]) != (fp.size, fp.mtime_ns, fp.ctime_ns, fp.inode):
            return None
        try:
            md5s = tuple(str(m) for m in json.loads(row[5]))
        except ValueError:
            return None
        return Digest(str(row[4]), md5s, fp.size)

    def store(self, fp: Fingerprint, digest: Digest) -> None:
        if fp.is_fresh():
            return
        with self._lock:
            if self._db is None:
                return
            try:
                # One row per path: a changed file replaces its old entry, so the cache
                # does not grow with every edit.
                self._db.execute(
                    "INSERT OR REPLACE INTO digests VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        fp.path,
                        fp.size,
                        fp.mtime_ns,
                        fp.ctime_ns,
                        fp.inode,
                        digest.etag,
                        json.dumps(digest.part_md5s),
                        time.time(),
                    ),
                )
                self._db.commit()
            except sqlite3.Error as exc:
                log.warning("digest cache write failed: %s", exc)

    def digest(self, path: Path) -> tuple[Digest, Fingerprint]:
        """The digest of ``path`` (from the cache when its fingerprint is unchanged) and the
        fingerprint it belongs to."""
        fp = Fingerprint.of(path)
        cached = self.lookup(fp)
        if cached is not None:
            with self._lock:
                self.hits += 1
            return cached, fp
        digest = compute_digest(Path(fp.path), fp.size)
        with self._lock:
            self.computed += 1
        # Only remember it if the file did not change while it was being read.
        if Fingerprint.of(path) == fp:
            self.store(fp, digest)
        return digest, fp
