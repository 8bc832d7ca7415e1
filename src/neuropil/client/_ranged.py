"""Fetching one blob's parts into its partial file, over one or several ranged connections.

The API's download URL is resolved to the blob URL once (:class:`BlobUrl`, over the one
redirect follower, :class:`~neuropil.http.redirects.Follower`) and shared by every
connection; an answer that looks like an expired URL resolves it again. Each part is a
separate transfer that retries, resumes from the last byte written and md5s what it writes,
so the dandi-etag is known without reading the file again. A server that ignores ``Range``,
answers with the wrong ``Content-Range`` or sends too much is an error, not data.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any

import httpx

from neuropil.client._download_errors import Aborted, Failed
from neuropil.client._partial import Partial
from neuropil.client.download_records import RemoteEntry
from neuropil.client.events import ByteCounter
from neuropil.core.ranges import ByteRange, parse_content_range
from neuropil.http.redirects import Follower
from neuropil.http.signals import Retryable, Stale
from neuropil.http.transport import RETRY_STATUSES, Transport

#: Blobs at least this large are fetched over several connections (one or more parts each).
MULTI_CONNECTION_MIN = 32 << 20
#: Statuses that mean "this blob URL no longer works" (an expired signature, a moved object).
STALE_STATUSES = frozenset({400, 401, 403, 404, 410})
MAX_URL_REFRESHES = 3


class BlobUrl:
    """The blob URL behind ``download_url``: resolved once, shared by all connections."""

    def __init__(self, transport: Transport, download_url: str) -> None:
        self.follower = Follower(transport, download_url)
        self._lock = threading.Lock()
        self.refreshes = 0

    def ready(self) -> None:
        """Resolve the blob URL, unless a connection did already."""
        with self._lock:
            if not self.follower.settled:
                self._resolve()

    def refresh(self, stale: str, why: str) -> None:
        """Resolve again, unless another connection already replaced ``stale``."""
        with self._lock:
            if self.follower.url != stale:
                return
            self.refreshes += 1
            if self.refreshes > MAX_URL_REFRESHES:
                raise Failed(f"the blob URL keeps failing ({why})")
            self._resolve()

    def _resolve(self) -> None:
        # HEAD: no body either way; a server without HEAD (405) leaves the API URL, and its
        # 302 is then followed by the range requests.
        self.follower.resolve("HEAD", ok=(405,))


@dataclass
class _Cursor:
    """Where one part's transfer stands."""

    index: int
    pos: int
    stop: int
    md5: Any  # hashlib's md5 object (no public type)


class RangedFetch:
    """Fetches every part of one blob into its :class:`Partial`, filling in ``md5s``.

    ``interrupted`` stops the whole run; a failing part stops this file's other connections.
    ``part_done`` is called after each part's md5 is in ``md5s``.
    """

    def __init__(
        self,
        transport: Transport,
        remote: RemoteEntry,
        partial: Partial,
        md5s: list[str | None],
        *,
        counter: ByteCounter,
        interrupted: threading.Event,
        part_done: Callable[[], None],
    ) -> None:
        self.transport = transport
        self.remote = remote
        self.partial = partial
        self.parts = partial.parts
        self.md5s = md5s
        self.counter = counter
        self.interrupted = interrupted
        self.part_done = part_done
        self.blob = BlobUrl(transport, remote.download_url)
        self.abort = threading.Event()

    def run(self, connections: int) -> None:
        """Fetch all parts, over up to ``connections`` connections for a large blob."""
        width = connections if self.remote.size >= MULTI_CONNECTION_MIN else 1
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
            if exc is not None and (error is None or isinstance(error, Aborted)):
                error = exc
                self.abort.set()
        if error is not None:
            raise error

    def _fetch_part(self, index: int) -> None:
        part = self.parts[index]
        md5 = hashlib.md5()
        have = self.partial.done[index]
        # Bytes from an earlier run are re-hashed from disk: trust the data, not the record.
        for chunk in self.partial.read(part.offset, have):
            md5.update(chunk)
        cursor = _Cursor(index, part.offset + have, part.offset + part.size, md5)
        self._transfer(cursor)
        self.md5s[index] = md5.hexdigest()
        self.partial.save(force=True)
        self.part_done()

    def _transfer(self, cur: _Cursor) -> None:
        """Fetch ``[cur.pos, cur.stop)``, retrying and resuming from the last byte written."""
        attempt = 0
        while cur.pos < cur.stop:
            before = cur.pos
            self.blob.ready()
            try:
                self._request(cur)
                continue
            except Stale as s:
                self.blob.refresh(s.url, str(s))
                continue
            except Retryable as r:
                last, response = str(r), r.response
            except httpx.TransportError as exc:
                last, response = f"{type(exc).__name__}: {exc}", None
            attempt = 0 if cur.pos > before else attempt  # progress earns a fresh budget
            attempt += 1
            if attempt >= self.transport.backoff.attempts:
                raise Failed(f"gave up after {attempt} attempts: {last}")
            self._sleep(self.transport.backoff.delay(attempt - 1, response))

    def _sleep(self, seconds: float) -> None:
        if self.abort.wait(seconds) or self.interrupted.is_set():
            raise Aborted("stopped")

    def _request(self, cur: _Cursor) -> None:
        """One GET for ``[cur.pos, cur.stop)`` (its redirects followed); writes what arrives
        even if it breaks off."""
        full = cur.pos == 0 and cur.stop == self.remote.size
        wanted = ByteRange(cur.pos, cur.stop)
        # identity: digests are over the stored bytes, never a re-encoding of them.
        headers = {"Accept-Encoding": "identity"}
        if not full:
            headers["Range"] = wanted.header()
        with self.blob.follower.stream(headers=headers) as (url, r):
            self._check_response(url, r, wanted, full)
            # Unbuffered: bytes that arrived before a connection broke are kept.
            for chunk in r.iter_raw():
                self._write(cur, chunk)
        if cur.pos < cur.stop:
            raise Retryable(f"the response ended {cur.stop - cur.pos} bytes early")

    def _check_response(self, url: str, r: httpx.Response, wanted: ByteRange, full: bool) -> None:
        status = r.status_code
        if status in RETRY_STATUSES:
            raise Retryable(f"HTTP {status}", r)
        if status in STALE_STATUSES:
            raise Stale(f"HTTP {status} from the blob URL", url)
        if status == 200 and full:
            length = r.headers.get("content-length")
            if length is not None and int(length) != self.remote.size:
                raise Failed(f"the server sent {length} bytes, expected {self.remote.size}")
            return
        if status == 200:
            raise Failed("the server ignored the Range header (200 instead of 206)")
        if status != 206:
            raise Failed(f"unexpected HTTP {status} from the blob URL")
        self._check_content_range(r.headers.get("content-range", ""), wanted)

    def _check_content_range(self, value: str, wanted: ByteRange) -> None:
        try:
            got, total = parse_content_range(value)
        except ValueError:
            got, total = None, None
        if got != wanted or total not in (None, self.remote.size):
            raise Failed(
                f"the server answered Range {wanted.header()!r} with Content-Range "
                f"{value!r} (expected {wanted.content_range(self.remote.size)!r})"
            )

    def _write(self, cur: _Cursor, chunk: bytes) -> None:
        if self.abort.is_set() or self.interrupted.is_set():
            raise Aborted("stopped")
        if len(chunk) > cur.stop - cur.pos:
            raise Failed("the server sent more bytes than the range holds")
        self.partial.write(cur.index, cur.pos, chunk)
        cur.md5.update(chunk)
        cur.pos += len(chunk)
        self.counter.add(len(chunk))
        self.partial.save(force=False)
