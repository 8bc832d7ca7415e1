"""The download engine: many files at once, several ranged connections per large blob.

Independent of the CLI and of URL parsing: callers hand in :class:`RemoteFile` records and
local targets. What it does beyond the official client (``dandi download``):

* files run in parallel (``jobs``) *and* a large blob is fetched over several connections,
  split on dandi-etag part boundaries, so each connection md5s whole parts and the
  dandi-etag is checked while writing, without reading the file again;
* every request retries (connection errors, 429 honouring ``Retry-After``, 5xx) and a
  broken stream resumes from the byte it stopped at;
* partial data lives in ``<target>.npdownload`` with a sidecar ``<target>.npdownload.json``
  listing the completed byte ranges, so a re-run (after a crash, a kill or Ctrl-C) fetches
  only what is missing; ``existing="error"`` never trips over a partial download;
* a file is renamed into place only after its digests match, so a good local file is never
  replaced by bad bytes.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
import time
import typing
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, NamedTuple
from urllib.parse import urljoin, urlsplit

import httpx
import yaml

# Re-exported (``X as X``) so ``from neuropil.client.download import FileDone`` keeps working.
from neuropil.client.events import BytesDone as BytesDone
from neuropil.client.events import FileDone as FileDone
from neuropil.client.events import FileStarted as FileStarted
from neuropil.client.events import ProgressCallback as ProgressCallback
from neuropil.client.events import ProgressEvent as ProgressEvent
from neuropil.client.events import Status as Status
from neuropil.client.transport import RETRY_STATUSES, Transport
from neuropil.core.digests import Part, etag_from_part_md5s, file_etag, parts_for_size
from neuropil.core.ranges import ByteRange, parse_content_range
from neuropil.errors import NeuropilError

try:  # an advisory lock keeps two processes from writing one partial file
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

ExistingPolicy = Literal["error", "skip", "overwrite", "overwrite-different", "refresh"]
EXISTING_POLICIES: tuple[str, ...] = typing.get_args(ExistingPolicy)

PARTIAL_SUFFIX = ".npdownload"
STATE_SUFFIX = ".npdownload.json"
#: Blobs at least this large are fetched over several connections (one or more parts each).
MULTI_CONNECTION_MIN = 32 << 20
#: Below this size a partial is not worth a sidecar: a re-run simply starts over.
SIDECAR_MIN = 4 << 20
#: ``refresh`` treats mtimes this close as equal (coarse filesystems, dandi #1907).
MTIME_TOLERANCE = 2.0
CHUNK = 1 << 20
SAVE_INTERVAL = 2.0
PROGRESS_BYTES = 1 << 20
PROGRESS_SECONDS = 0.1
#: Statuses that mean "this blob URL no longer works" (an expired signature, a moved object).
STALE_STATUSES = frozenset({400, 401, 403, 404, 410})
MAX_URL_REFRESHES = 3
MAX_REDIRECTS = 5


# -- public records ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RemoteFile:
    """One blob asset to download, as described by the archive."""

    asset_id: str
    path: str
    size: int
    #: The API's ``/assets/{id}/download/`` URL (answers 302 to the blob URL).
    download_url: str
    etag: str
    sha256: str | None = None
    #: ``blobDateModified``: becomes the local file's mtime.
    modified: datetime | None = None


class Failure(NamedTuple):
    """A file that could not be downloaded and why."""

    path: str
    reason: str


@dataclass
class DownloadReport:
    """What :func:`download_files` did; a single file's failure is recorded here, not raised."""

    done: int = 0
    skipped: int = 0
    failures: list[Failure] = field(default_factory=list)
    #: Bytes fetched over the network (resumed bytes are not counted).
    bytes_fetched: int = 0

    @property
    def failed(self) -> int:
        return len(self.failures)

    @property
    def ok(self) -> bool:
        return not self.failures


# -- internal errors -------------------------------------------------------------------------


class _Failed(Exception):
    """This file cannot be downloaded now; the partial data is kept for a re-run."""


class _DigestMismatch(_Failed):
    """The bytes are wrong: the partial data is deleted."""


class _Aborted(Exception):
    """Another connection of this file failed, or the whole run was interrupted."""


class _Retryable(Exception):
    def __init__(self, message: str, response: httpx.Response | None = None) -> None:
        super().__init__(message)
        self.response = response


class _Stale(Exception):
    """The blob URL answered as if expired or gone: resolve it again."""


class _Redirect(Exception):
    def __init__(self, location: str) -> None:
        super().__init__(location)
        self.location = location


# -- progress --------------------------------------------------------------------------------


class _Emitter:
    """Serializes calls to the user's callback, so it need not be thread-safe itself."""

    def __init__(self, callback: ProgressCallback | None) -> None:
        self._callback = callback
        self._lock = threading.Lock()

    def __call__(self, event: ProgressEvent) -> None:
        if self._callback is not None:
            with self._lock:
                self._callback(event)


class _ByteCounter:
    """Per-file byte counter that emits :class:`BytesDone` at most every MiB or 0.1 s."""

    def __init__(self, path: str, emit: _Emitter) -> None:
        self._path = path
        self._emit = emit
        self._lock = threading.Lock()
        self._pending = 0
        self._last = time.monotonic()
        self.total = 0

    def add(self, n: int) -> None:
        with self._lock:
            self._pending += n
            self.total += n
            now = time.monotonic()
            if self._pending < PROGRESS_BYTES and now - self._last < PROGRESS_SECONDS:
                return
            pending, self._pending, self._last = self._pending, 0, now
        self._emit(BytesDone(self._path, pending))

    def flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, 0
        if pending:
            self._emit(BytesDone(self._path, pending))


# -- small file helpers ----------------------------------------------------------------------


def _pwrite_all(fd: int, data: bytes, offset: int) -> None:
    view = memoryview(data)
    while view:
        n = os.pwrite(fd, view, offset)
        view, offset = view[n:], offset + n


def _iter_pread(fd: int, offset: int, length: int) -> Iterator[bytes]:
    stop = offset + length
    while offset < stop:
        chunk = os.pread(fd, min(4 * CHUNK, stop - offset), offset)
        if not chunk:
            raise _Failed("the partial file is shorter than its record says")
        offset += len(chunk)
        yield chunk


def _fsync_dir(path: Path) -> None:
    """Make a rename durable; not every platform can open a directory."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _write_atomic(path: Path, data: bytes) -> None:
    """Write via a temporary file and rename, so a crash leaves the old or the new content."""
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _timestamp(when: datetime) -> float:
    """POSIX time of ``when``; a naive datetime is taken as UTC (as the API's times are)."""
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()


def _same_origin(a: str, b: str) -> bool:
    sa, sb = urlsplit(a), urlsplit(b)
    return (sa.scheme, sa.netloc) == (sb.scheme, sb.netloc)


_fdatasync: Callable[[int], None] = getattr(os, "fdatasync", os.fsync)


# -- the partial file and its sidecar --------------------------------------------------------


class _Partial:
    """``<target>.npdownload`` (sparse, full size) plus the JSON record of finished ranges.

    Progress is tracked per dandi-etag part as the length of its finished prefix, so a
    resumed part is re-hashed locally up to that point and continued over the network.
    """

    def __init__(self, target: Path, remote: RemoteFile, parts: list[Part]) -> None:
        self.data_path = target.with_name(target.name + PARTIAL_SUFFIX)
        self.state_path = target.with_name(target.name + STATE_SUFFIX)
        self.remote = remote
        self.parts = parts
        self.done = [0] * len(parts)
        self.fd = -1
        self._sidecar = remote.size >= SIDECAR_MIN
        self._lock = threading.Lock()
        self._saved = time.monotonic()

    def open(self) -> int:
        """Open (or start) the partial file; returns how many bytes a previous run left."""
        self.fd = os.open(self.data_path, os.O_RDWR | os.O_CREAT, 0o644)
        if fcntl is not None:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                self.close()
                raise _Failed(f"{self.data_path} is in use by another download") from exc
        if not self._load():
            self._reset()
        return sum(self.done)

    def _load(self) -> bool:
        """Adopt the previous run's progress if it was for the same content (size + etag)."""
        try:
            state = json.loads(self.state_path.read_text())
        except (OSError, ValueError):
            return False
        same = (
            isinstance(state, dict)
            and state.get("version") == 1
            and state.get("size") == self.remote.size
            and state.get("etag") == self.remote.etag
            and os.fstat(self.fd).st_size == self.remote.size
        )
        if not same:
            return False
        self._adopt(state.get("ranges"))
        return True

    def _adopt(self, ranges: object) -> None:
        """Take the recorded per-part prefixes; anything else is not ours to trust."""
        starts = {p.offset: i for i, p in enumerate(self.parts)}
        for item in ranges if isinstance(ranges, list) else []:
            match item:
                case [int() as start, int() as stop] if start in starts:
                    i = starts[start]
                    if start <= stop <= start + self.parts[i].size:
                        self.done[i] = stop - start

    def _reset(self) -> None:
        os.ftruncate(self.fd, 0)  # drop stale bytes, then grow sparse to the final size
        os.ftruncate(self.fd, self.remote.size)
        self.done = [0] * len(self.parts)
        self.state_path.unlink(missing_ok=True)

    def advance(self, index: int, n: int) -> None:
        self.done[index] += n  # one connection owns a part at a time: no lock needed

    def save(self, *, force: bool) -> None:
        """Record finished ranges; data is synced first so the record never claims more."""
        if not self._sidecar or self.fd < 0:
            return
        if not self._lock.acquire(blocking=force):
            return  # another connection is saving right now; a later save covers us
        try:
            now = time.monotonic()
            if not force and now - self._saved < SAVE_INTERVAL:
                return
            self._saved = now
            ranges = [
                [p.offset, p.offset + d] for p, d in zip(self.parts, self.done, strict=True) if d
            ]
            _fdatasync(self.fd)
            state = {
                "version": 1,
                "size": self.remote.size,
                "etag": self.remote.etag,
                "sha256": self.remote.sha256,
                "url": self.remote.download_url,
                "ranges": ranges,
            }
            _write_atomic(self.state_path, json.dumps(state, indent=1).encode())
        finally:
            self._lock.release()

    def commit(self, target: Path) -> None:
        """Move the verified data over the target: fsync, mtime, atomic rename."""
        os.fsync(self.fd)
        self.close()
        if self.remote.modified is not None:
            os.utime(self.data_path, (time.time(), _timestamp(self.remote.modified)))
        os.replace(self.data_path, target)
        _fsync_dir(target.parent)
        self.state_path.unlink(missing_ok=True)

    def discard(self) -> None:
        self.data_path.unlink(missing_ok=True)
        self.state_path.unlink(missing_ok=True)
        self.close()

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


# -- URLs ------------------------------------------------------------------------------------


class _BlobUrl:
    """The blob URL behind ``download_url``: resolved once, shared by all connections."""

    def __init__(self, transport: Transport, download_url: str) -> None:
        self._transport = transport
        self._download_url = transport.url(download_url)
        self._url: str | None = None
        self._lock = threading.Lock()
        self.refreshes = 0

    def get(self) -> str:
        with self._lock:
            if self._url is None:
                self._url = self._resolve()
            return self._url

    def redirect(self, old: str, location: str) -> None:
        with self._lock:
            if self._url == old:
                self._url = urljoin(old, location)

    def refresh(self, stale: str, why: str) -> None:
        """Resolve again, unless another connection already replaced ``stale``."""
        with self._lock:
            if self._url != stale:
                return
            self.refreshes += 1
            if self.refreshes > MAX_URL_REFRESHES:
                raise _Failed(f"the blob URL keeps failing ({why})")
            self._url = self._resolve()

    def _resolve(self) -> str:
        # HEAD: no body either way; a server without HEAD (405) gets the API URL itself and
        # the 302 is then followed by the range requests.
        r = self._transport.request("HEAD", self._download_url, ok=(405,))
        location: str | None = r.headers.get("location")
        if 300 <= r.status_code < 400 and location:
            return urljoin(str(r.url), location)
        return self._download_url


# -- sha256 over finished parts, in order ------------------------------------------------------


class _Sha256Pass:
    """sha256 of the file, read back from disk part by part as the prefix completes.

    A thread of its own hashes finished parts in file order while later parts are still
    downloading, so no connection waits for it and little is left to hash at the end.
    A single-part blob is simply hashed at the end.
    """

    def __init__(self, partial: _Partial, md5s: list[str | None], *, enabled: bool) -> None:
        self._partial = partial
        self._parts = partial.parts
        self._enabled = enabled
        self._md5s = md5s
        self._next = 0
        self._hash = hashlib.sha256()
        self._cond = threading.Condition()
        self._finishing = False
        self._abandoned = False
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._enabled and len(self._parts) > 1:
            self._thread = threading.Thread(target=self._run, name="sha256", daemon=True)
            self._thread.start()

    def part_done(self) -> None:
        with self._cond:
            self._cond.notify()

    def _ready(self) -> bool:
        return self._next < len(self._parts) and self._md5s[self._next] is not None

    def _run(self) -> None:
        try:
            while True:
                with self._cond:
                    self._cond.wait_for(lambda: self._abandoned or self._finishing or self._ready())
                    if self._abandoned or not self._ready():
                        return
                self._hash_next()
        except BaseException as exc:  # reported by hexdigest()
            self._error = exc

    def _hash_next(self) -> None:
        part = self._parts[self._next]
        for chunk in _iter_pread(self._partial.fd, part.offset, part.size):
            self._hash.update(chunk)
        self._next += 1

    def _join(self, *, abandon: bool) -> None:
        with self._cond:
            self._finishing = True
            self._abandoned = self._abandoned or abandon
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join()

    def hexdigest(self) -> str:
        """The digest once every part is done (the caller guarantees that)."""
        self._join(abandon=False)
        if self._error is not None:
            raise _Failed(f"could not read back the data: {self._error}")
        while self._ready():  # the single-part case, or parts the thread had not reached
            self._hash_next()
        return self._hash.hexdigest()

    def stop(self) -> None:
        """Stop reading: must happen before the partial file is closed."""
        self._join(abandon=True)


# -- one file ------------------------------------------------------------------------------


@dataclass
class _Run:
    """What every file download of one :func:`download_files` call shares."""

    transport: Transport
    existing: str
    connections: int
    emit: _Emitter
    abort: threading.Event = field(default_factory=threading.Event)


@dataclass
class _Cursor:
    """Where one part's transfer stands."""

    index: int
    pos: int
    stop: int
    md5: Any  # hashlib's md5 object (no public type)


class _FileDownload:
    """Downloads one :class:`RemoteFile` to one target."""

    def __init__(self, run: _Run, remote: RemoteFile, target: Path) -> None:
        self.run = run
        self.remote = remote
        self.target = target
        self.parts = parts_for_size(remote.size)
        self.partial = _Partial(target, remote, self.parts)
        self.blob = _BlobUrl(run.transport, remote.download_url)
        self.counter = _ByteCounter(remote.path, run.emit)
        self.abort = threading.Event()
        self.md5s: list[str | None] = [None] * len(self.parts)
        self.sha = _Sha256Pass(self.partial, self.md5s, enabled=remote.sha256 is not None)
        self.redirects = 0

    def execute(self) -> tuple[Status, str]:
        """Download unless the ``existing`` policy says not to; raises on failure."""
        verdict = _existing_verdict(self.target, self.remote, self.run.existing)
        if verdict is not None:
            return "skipped", verdict
        self.target.parent.mkdir(parents=True, exist_ok=True)
        resumed = self.partial.open()
        self.run.emit(FileStarted(self.remote.path, self.remote.size, resumed))
        try:
            self._fetch_and_verify()
        except _DigestMismatch:
            self.partial.discard()  # bad bytes: nothing of them may survive
            raise
        except BaseException:
            self._keep_partial()
            raise
        self.partial.commit(self.target)
        return "done", f"resumed after {resumed} bytes" if resumed else ""

    def _fetch_and_verify(self) -> None:
        self.sha.start()
        try:
            self._fetch_parts()
            self._verify()
        finally:
            self.sha.stop()
            self.counter.flush()

    def _keep_partial(self) -> None:
        """Record the progress for a re-run; a failing save must not hide the real error."""
        if self.remote.size < SIDECAR_MIN:
            self.partial.discard()  # too small to resume: starting over costs nothing
            return
        with contextlib.suppress(OSError):
            self.partial.save(force=True)
        self.partial.close()

    def _fetch_parts(self) -> None:
        """Fetch all parts, over several connections for a large blob."""
        width = self.run.connections if self.remote.size >= MULTI_CONNECTION_MIN else 1
        width = max(1, min(width, len(self.parts)))
        if width == 1:
            for i in range(len(self.parts)):
                self._fetch_part(i)
            return
        with ThreadPoolExecutor(max_workers=width) as pool:
            futures = [pool.submit(self._fetch_part, i) for i in range(len(self.parts))]
            self._first_error(futures)

    def _first_error(self, futures: list[Future[None]]) -> None:
        """Wait for all parts; on the first failure stop the others, then raise it."""
        error: BaseException | None = None
        for fut in as_completed(futures):
            exc = fut.exception()
            if exc is not None and (error is None or isinstance(error, _Aborted)):
                error = exc
                self.abort.set()
        if error is not None:
            raise error

    def _fetch_part(self, index: int) -> None:
        part = self.parts[index]
        md5 = hashlib.md5()
        have = self.partial.done[index]
        # Bytes from an earlier run are re-hashed from disk: trust the data, not the record.
        for chunk in _iter_pread(self.partial.fd, part.offset, have):
            md5.update(chunk)
        cursor = _Cursor(index, part.offset + have, part.offset + part.size, md5)
        self._transfer(cursor)
        self.md5s[index] = md5.hexdigest()
        self.partial.save(force=True)
        self.sha.part_done()

    def _transfer(self, cur: _Cursor) -> None:
        """Fetch ``[cur.pos, cur.stop)``, retrying and resuming from the last byte written."""
        attempt = 0
        while cur.pos < cur.stop:
            before, url = cur.pos, self.blob.get()
            try:
                self._request(url, cur)
                continue
            except _Redirect as r:
                self._follow(url, r.location)
                continue
            except _Stale as s:
                self.blob.refresh(url, str(s))
                continue
            except _Retryable as r:
                last, response = str(r), r.response
            except httpx.TransportError as exc:
                last, response = f"{type(exc).__name__}: {exc}", None
            attempt = 0 if cur.pos > before else attempt  # progress earns a fresh budget
            attempt += 1
            if attempt >= self.run.transport.backoff.attempts:
                raise _Failed(f"gave up after {attempt} attempts: {last}")
            self._sleep(self.run.transport.backoff.delay(attempt - 1, response))

    def _follow(self, url: str, location: str) -> None:
        self.redirects += 1
        if self.redirects > MAX_REDIRECTS:
            raise _Failed(f"too many redirects from {self.remote.download_url}")
        self.blob.redirect(url, location)

    def _sleep(self, seconds: float) -> None:
        if self.abort.wait(seconds) or self.run.abort.is_set():
            raise _Aborted("stopped")

    def _request(self, url: str, cur: _Cursor) -> None:
        """One GET for ``[cur.pos, cur.stop)``; writes what arrives even if it breaks off."""
        full = cur.pos == 0 and cur.stop == self.remote.size
        wanted = ByteRange(cur.pos, cur.stop)
        # identity: digests are over the stored bytes, never a re-encoding of them.
        headers = {"Accept-Encoding": "identity"}
        if not full:
            headers["Range"] = wanted.header()
        auth = _same_origin(url, self.run.transport.api_url)
        with self.run.transport.stream("GET", url, auth=auth, headers=headers) as r:
            self._check_response(r, wanted, full)
            # Unbuffered: bytes that arrived before a connection broke are kept.
            for chunk in r.iter_raw():
                self._write(cur, chunk)
        if cur.pos < cur.stop:
            raise _Retryable(f"the response ended {cur.stop - cur.pos} bytes early")

    def _check_response(self, r: httpx.Response, wanted: ByteRange, full: bool) -> None:
        status = r.status_code
        if 300 <= status < 400 and r.headers.get("location"):
            raise _Redirect(r.headers["location"])
        if status in RETRY_STATUSES:
            raise _Retryable(f"HTTP {status}", r)
        if status in STALE_STATUSES:
            raise _Stale(f"HTTP {status} from the blob URL")
        if status == 200 and full:
            length = r.headers.get("content-length")
            if length is not None and int(length) != self.remote.size:
                raise _Failed(f"the server sent {length} bytes, expected {self.remote.size}")
            return
        if status == 200:
            raise _Failed("the server ignored the Range header (200 instead of 206)")
        if status != 206:
            raise _Failed(f"unexpected HTTP {status} from the blob URL")
        self._check_content_range(r.headers.get("content-range", ""), wanted)

    def _check_content_range(self, value: str, wanted: ByteRange) -> None:
        try:
            got, total = parse_content_range(value)
        except ValueError:
            got, total = None, None
        if got != wanted or total not in (None, self.remote.size):
            raise _Failed(
                f"the server answered Range {wanted.header()!r} with Content-Range "
                f"{value!r} (expected {wanted.content_range(self.remote.size)!r})"
            )

    def _write(self, cur: _Cursor, chunk: bytes) -> None:
        if self.abort.is_set() or self.run.abort.is_set():
            raise _Aborted("stopped")
        if len(chunk) > cur.stop - cur.pos:
            raise _Failed("the server sent more bytes than the range holds")
        _pwrite_all(self.partial.fd, chunk, cur.pos)
        cur.md5.update(chunk)
        cur.pos += len(chunk)
        self.partial.advance(cur.index, len(chunk))
        self.counter.add(len(chunk))
        self.partial.save(force=False)

    def _verify(self) -> None:
        got = etag_from_part_md5s(m for m in self.md5s if m is not None)
        if got != self.remote.etag:
            raise _DigestMismatch(
                f"dandi-etag mismatch: expected {self.remote.etag}, got {got}; "
                "the archive's copy may be damaged"
            )
        if self.remote.sha256:
            sha = self.sha.hexdigest()
            if sha != self.remote.sha256:
                raise _DigestMismatch(f"sha256 mismatch: expected {self.remote.sha256}, got {sha}")


def _existing_verdict(target: Path, remote: RemoteFile, policy: str) -> str | None:
    """Why an existing target is kept (a skip), ``None`` to download; raises for ``error``."""
    if not (target.exists() or target.is_symlink()):
        return None
    if target.is_dir():
        raise _Failed(f"{target} is a directory")
    if policy == "error":
        raise _Failed(
            f"{target} already exists; choose existing=skip, overwrite, "
            "overwrite-different or refresh"
        )
    if policy == "skip":
        return "already exists"
    if policy == "overwrite":
        return None
    st = target.stat()
    if st.st_size != remote.size:
        return None
    if policy == "overwrite-different":
        return "same content" if file_etag(target) == remote.etag else None
    # refresh: without the remote mtime nothing proves the local copy current.
    modified = remote.modified
    if modified and abs(st.st_mtime - _timestamp(modified)) <= MTIME_TOLERANCE:
        return "same size and mtime"
    return None


# -- the public entry points -------------------------------------------------------------------


def download_files(
    transport: Transport,
    items: Sequence[tuple[RemoteFile, Path]],
    *,
    existing: ExistingPolicy | str = "error",
    jobs: int = 6,
    connections: int = 4,
    progress: ProgressCallback | None = None,
) -> DownloadReport:
    """Download ``items`` (remote file, local target) in parallel and verify every byte.

    ``jobs`` files run at once; a blob of at least 32 MiB is fetched over up to
    ``connections`` ranged connections. ``existing`` decides what happens to a target that
    already exists, as in ``dandi download -e``. A partial download left by an earlier run
    is resumed whatever the policy. ``progress`` receives :class:`FileStarted`,
    :class:`BytesDone` and :class:`FileDone` events, one at a time.

    Failures of single files are collected in the report; only an interrupt (Ctrl-C)
    propagates, after the running downloads recorded their progress for a resume.
    """
    if existing not in EXISTING_POLICIES:
        raise ValueError(f"existing must be one of {', '.join(EXISTING_POLICIES)}")
    run = _Run(transport, existing, max(1, connections), _Emitter(progress))
    report = DownloadReport()
    seen: set[Path] = set()
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures: dict[Future[_Outcome], RemoteFile] = {}
        for remote, target in items:
            key = Path(os.path.abspath(target))
            if key in seen:
                _record(report, run, remote, _Outcome("failed", f"{target} is a target twice", 0))
                continue
            seen.add(key)
            futures[pool.submit(_download_one, run, remote, Path(target))] = remote
        try:
            for fut in as_completed(futures):
                _record(report, run, futures[fut], fut.result())
        except BaseException:
            run.abort.set()  # running files stop at their next chunk and save their progress
            for fut in futures:
                fut.cancel()
            raise
    return report


class _Outcome(NamedTuple):
    status: Status
    message: str
    fetched: int


def _download_one(run: _Run, remote: RemoteFile, target: Path) -> _Outcome:
    """How one file went; never raises for a failed file."""
    job: _FileDownload | None = None
    try:
        job = _FileDownload(run, remote, target)
        status, message = job.execute()
    except _Aborted:
        status, message = "failed", "interrupted"
    except (_Failed, NeuropilError, OSError) as exc:
        status, message = "failed", str(exc)
    except Exception as exc:  # a bug or an unforeseen error must not sink the other files
        status, message = "failed", f"{type(exc).__name__}: {exc}"
    return _Outcome(status, message, job.counter.total if job else 0)


def _record(report: DownloadReport, run: _Run, remote: RemoteFile, outcome: _Outcome) -> None:
    report.bytes_fetched += outcome.fetched
    if outcome.status == "done":
        report.done += 1
    elif outcome.status == "skipped":
        report.skipped += 1
    else:
        report.failures.append(Failure(remote.path, outcome.message))
    run.emit(FileDone(remote.path, outcome.status, outcome.message))


def write_dandiset_yaml(
    dest_dir: Path, metadata: dict[str, Any], web_url: str, *, modified: datetime | None = None
) -> bool:
    """Write ``dest_dir/dandiset.yaml`` from version metadata; False when already identical.

    ``web_url`` is this instance's web UI (the dandiset page, or the site root to which
    ``/dandiset/<id>`` is added), so the header points at the archive the data came from.
    ``modified`` becomes the file's mtime, as the official client does.
    """
    page = web_url.rstrip("/")
    ident = str(metadata.get("identifier", "")).rsplit(":", 1)[-1]  # "NEUROPIL:000001"
    if "/dandiset/" not in page and ident:
        page = f"{page}/dandiset/{ident}"
    header = (
        "# DO NOT EDIT THIS FILE LOCALLY. ALL LOCAL UPDATES WILL BE LOST.\n"
        f"# It can be edited online at {page}\n"
    )
    body = yaml.safe_dump(metadata, default_flow_style=False, sort_keys=False, allow_unicode=True)
    data = (header + body).encode()
    path = Path(dest_dir) / "dandiset.yaml"
    try:
        if path.read_bytes() == data:
            return False
    except OSError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_atomic(path, data)
    if modified is not None:
        os.utime(path, (time.time(), _timestamp(modified)))
    return True


def _is_partial(name: str) -> bool:
    return PARTIAL_SUFFIX in name or ".dandidownload" in name


def sync_delete(dest_dir: Path, keep: set[Path]) -> list[Path]:
    """Local files under ``dest_dir`` that are not in ``keep``: candidates for ``--sync``.

    Nothing is deleted here; the caller confirms. Skipped: the top-level ``dandiset.yaml``,
    partial downloads (ours and the official client's) and dot files/directories such as
    ``.git`` or ``.datalad``, which belong to the user's tools, not to the dandiset.
    """
    root = Path(os.path.abspath(dest_dir))
    kept = {Path(os.path.abspath(p)) for p in keep}
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".") and not _is_partial(d)]
        here = Path(dirpath)
        for name in filenames:
            path = here / name
            if name.startswith(".") or _is_partial(name) or path in kept:
                continue
            if here == root and name == "dandiset.yaml":
                continue
            found.append(path)
    return sorted(found)
