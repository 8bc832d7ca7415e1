"""Fetching byte ranges of one remote object: the only network code of :mod:`neuropil.stream`.

:class:`HttpFetcher` turns a list of wanted ranges into as few ranged GETs as it can, runs
the independent ones concurrently over one pooled ``httpx`` client, and checks every answer
before a byte of it is handed out:

- ranges closer than ``max_gap`` are merged into one request (a few wasted bytes are cheaper
  than a round trip), so the requests are the contiguous runs of the ranges; only runs of
  ``split_min`` (64 MiB) or more are cut into ``split_size`` pieces fetched in parallel
  (smaller runs gain nothing measurable from it over loopback or a LAN, and cost requests);
- with ``on_ready``, each wanted range is handed out as soon as its last byte arrived, while
  the rest of its run still streams in: callers decode chunks as they land, overlapping the
  network with the CPU;
- the size and ``ETag`` are learned from the first ranged GET's ``Content-Range`` and ``ETag``
  (no HEAD: presigned URLs may refuse it); every later answer must agree, or the object
  changed under us (:class:`~neuropil.errors.BlobChanged`);
- a ``200`` to a ranged GET (:class:`~neuropil.errors.RangeNotSupported`), a ``Content-Range``
  other than the one asked for, or a body of the wrong length is an error, never data;
- the API's redirect is followed once (by :class:`~neuropil.http.redirects.Follower`, the
  one redirect follower, which also decides where the token goes) and the blob URL it names
  is reused; when the blob URL stops working (an expired signature: 400/401/403/404/410) it
  is resolved again;
- 429, 5xx and broken connections are retried with the :class:`Transport`'s backoff;
- an index the server advertises for the object (an RFC 8288 ``Link``, see
  :mod:`neuropil.core.links`) on any answer, the redirect included, is kept as
  :attr:`HttpFetcher.index_url`: the reader can switch to it after its first request;
- with ``ask_index``, the first request asks for the object's index in place of its bytes
  (``Accept:`` :data:`~neuropil.core.links.ACCEPT_INDEX`, and ``Accept-Encoding: gzip``: the
  JSON shrinks by half or more); a server holding one answers ``200`` with it, which the
  fetcher hands back decoded as :class:`IndexServed`, not as data. Bytes are always asked
  for as they are (``identity``); a server that compresses them anyway, when gzip was
  allowed, is asked again without.
"""

from __future__ import annotations

import bisect
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx

from neuropil.core.links import ACCEPT_INDEX, INDEX_MEDIA_TYPE, find_index_link
from neuropil.core.ranges import ByteRange, parse_content_range
from neuropil.errors import BlobChanged, RangeNotSupported, RemoteError, StreamError, remote_error
from neuropil.http.redirects import Follower
from neuropil.http.signals import Retryable, Stale
from neuropil.http.transport import RETRY_STATUSES, Transport, error_for

DEFAULT_MAX_GAP = 64 << 10
DEFAULT_SPLIT_MIN = 64 << 20
DEFAULT_SPLIT_SIZE = 16 << 20
DEFAULT_WORKERS = 8
#: A blob URL answering one of these has probably expired: ask the API for a fresh one.
STALE_STATUSES = frozenset({400, 401, 403, 404, 410})
MAX_REFRESHES = 3


#: ``on_ready(i, data)``: range ``i`` of a :meth:`HttpFetcher.fetch` call is complete.
OnReady = Callable[[int, bytes], None]


class _Encoded(Exception):
    """Bytes came compressed, to a request that allowed gzip (for the index): ask again,
    ``identity`` only (a compressed answer's ``Content-Range`` counts encoded bytes)."""


class IndexServed(Exception):
    """The server answered the first request with the object's index, as ``ask_index``
    asked (content negotiation), instead of its bytes. Not an error: the caller opens the
    index (``body``, the JSON text, from ``url``) rather than the file."""

    def __init__(self, url: str, body: bytes) -> None:
        super().__init__(f"{url} answered with the file's index")
        self.url = url
        self.body = body


@dataclass(frozen=True)
class BlobIdentity:
    """What the server says an object is: its size and (if it sends one) its ``ETag``."""

    size: int
    etag: str | None

    def key(self, url: str) -> str:
        """A cache key for the object's content: a strong ETag names the bytes wherever
        they are served from; without one, the URL has to stand in for them."""
        if self.etag and not self.etag.startswith("W/"):
            return f"etag {self.etag} {self.size}"
        return f"url {url} {self.size}"


@dataclass
class FetchStats:
    """Requests sent (redirects and retries included), bytes of range answers received
    (what the object's bytes cost on the wire), and retries."""

    requests: int = 0
    bytes: int = 0
    retries: int = 0


def plan(
    ranges: Sequence[ByteRange], *, max_gap: int, split_min: int, split_size: int
) -> list[ByteRange]:
    """The requests that cover ``ranges``: sorted, merged across gaps of at most ``max_gap``,
    and runs of ``split_min`` bytes or more cut into ``split_size`` pieces."""
    runs: list[ByteRange] = []
    for r in sorted(ranges, key=lambda r: r.start):
        if r.length == 0:
            continue
        if runs and r.start - runs[-1].stop <= max_gap:
            runs[-1] = ByteRange(runs[-1].start, max(runs[-1].stop, r.stop))
        else:
            runs.append(r)
    pieces: list[ByteRange] = []
    for run in runs:
        if run.length < split_min:
            pieces.append(run)
            continue
        pieces.extend(
            ByteRange(s, min(s + split_size, run.stop))
            for s in range(run.start, run.stop, split_size)
        )
    return pieces


def _assemble(want: ByteRange, starts: list[int], pieces: list[tuple[ByteRange, bytes]]) -> bytes:
    """The bytes of ``want`` cut from the fetched pieces (shorter only past the end)."""
    out = bytearray()
    i = bisect.bisect_right(starts, want.start) - 1
    pos = want.start
    while pos < want.stop and 0 <= i < len(pieces):
        got, data = pieces[i]
        if not got.start <= pos < got.start + len(data):
            break  # past the end of the object
        take = min(want.stop, got.start + len(data)) - pos
        out += data[pos - got.start : pos - got.start + take]
        pos += take
        i += 1
    return bytes(out)


class HttpFetcher:
    """Ranged reads of the object at ``url`` (an API download URL or a blob URL).

    ``transport`` supplies the HTTP client, the token (sent as
    :mod:`neuropil.http.redirects` says: to the API's origin only, never to a blob URL on
    another host) and the retry policy; without one, the fetcher makes and
    owns a :class:`Transport`. ``max_workers=0`` sends every request from the calling
    thread (see :class:`~neuropil.stream.RemoteFile` for why). ``ask_index``: the first
    request may be answered with the object's index (:class:`IndexServed`). ``close()``
    releases what the fetcher owns.
    """

    def __init__(
        self,
        url: str,
        transport: Transport | None = None,
        *,
        max_gap: int = DEFAULT_MAX_GAP,
        split_min: int = DEFAULT_SPLIT_MIN,
        split_size: int = DEFAULT_SPLIT_SIZE,
        max_workers: int = DEFAULT_WORKERS,
        ask_index: bool = False,
    ) -> None:
        self.url = url
        self._ask_index = ask_index
        self._owns_transport = transport is None
        self._transport = transport or Transport(url)
        self._follower = Follower(self._transport, url)
        self.max_gap, self.split_min, self.split_size = max_gap, split_min, split_size
        #: None (``max_workers=0``): every request is sent from the calling thread, in turn.
        self._pool = (
            ThreadPoolExecutor(max_workers, thread_name_prefix="neuropil-fetch")
            if max_workers > 0
            else None
        )
        self._lock = threading.Lock()
        self._identity: BlobIdentity | None = None
        self._refreshes = 0  # renewals of the blob URL since the last good answer
        self._gzip_index = True  # off once a server compressed bytes that gzip was allowed for
        self.stats = FetchStats()
        #: The object's index, as the first answer advertising one named it (else None).
        self.index_url: str | None = None

    @property
    def identity(self) -> BlobIdentity | None:
        """Size and ETag, once known (from the first answer or :meth:`expect`)."""
        return self._identity

    def expect(self, identity: BlobIdentity) -> None:
        """Take ``identity`` (e.g. from a cache) as known: answers must match it."""
        with self._lock:
            self._identity = identity

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
        if self._owns_transport:
            self._transport.close()

    def fetch(self, ranges: Sequence[ByteRange], on_ready: OnReady | None = None) -> list[bytes]:
        """The bytes of each range, in order; a range running past the end comes back short.

        ``on_ready(i, data)``, if given, is called once per range with the same bytes as the
        result, as early as possible: a range lying within one request is handed out while
        that request's body still streams in (from the thread reading it); the others once
        every request is done. An exception it raises aborts the fetch.
        """
        if not ranges:
            return []
        results: list[bytes | None] = [None] * len(ranges)
        sink = _Sink(ranges, results, on_ready)
        pieces = self._plan(ranges)
        fetched: list[tuple[ByteRange, bytes]] = []
        if pieces and (self._identity is None or not self._follower.settled):
            # Learn size, ETag and blob URL once, before requests run side by side.
            first, *pieces = pieces
            fetched.append((first, self._get(first, sink)))
            pieces = self._clip(pieces)
        if len(pieces) == 1 or self._pool is None:
            fetched.extend((p, self._get(p, sink)) for p in pieces)
        elif pieces:
            datas = self._pool.map(lambda p: self._get(p, sink), pieces)
            fetched.extend(zip(pieces, datas, strict=True))
        fetched.sort(key=lambda p: p[0].start)
        starts = [p.start for p, _ in fetched]
        for i, r in enumerate(ranges):
            if results[i] is None:
                sink.done(i, _assemble(r, starts, fetched))
        return [data if data is not None else b"" for data in results]

    def _plan(self, ranges: Sequence[ByteRange]) -> list[ByteRange]:
        pieces = plan(
            ranges, max_gap=self.max_gap, split_min=self.split_min, split_size=self.split_size
        )
        return self._clip(pieces)

    def _clip(self, pieces: list[ByteRange]) -> list[ByteRange]:
        """Nothing to ask for past the end, once the end is known."""
        if self._identity is None:
            return pieces
        size = self._identity.size
        return [ByteRange(p.start, min(p.stop, size)) for p in pieces if p.start < size]

    def _get(self, want: ByteRange, sink: _Sink | None = None) -> bytes:
        """One range, with redirects, URL refreshes and retries (``sink`` takes the wanted
        ranges within it as they complete)."""
        attempt = 0
        while True:
            try:
                return self._request(want, sink)
            except Stale as stale:
                self._refresh(stale.url)
            except _Encoded:
                continue  # asked again, identity only
            except Retryable as exc:
                attempt += 1
                backoff = self._transport.backoff
                if attempt >= backoff.attempts:
                    status = exc.response.status_code if exc.response is not None else 0
                    url = self._follower.url
                    raise remote_error(f"GET {url}: {exc}", status_code=status, url=url) from exc
                with self._lock:
                    self.stats.retries += 1
                time.sleep(backoff.delay(attempt - 1, exc.response))

    def _refresh(self, stale: str) -> None:
        """Forget an expired blob URL (unless another thread already did): the next request
        goes to the API URL again and follows its fresh redirect."""
        with self._lock:
            if self._follower.url != stale:
                return
            self._refreshes += 1
            if self._refreshes > MAX_REFRESHES:
                raise RemoteError(f"the blob URL behind {self.url} keeps failing", status_code=0)
            self._follower.forget(stale)

    def _headers(self, want: ByteRange) -> dict[str, str]:
        # identity: a compressed answer's Content-Range would count encoded bytes.
        headers = {"Range": want.header(), "Accept-Encoding": "identity"}
        if self._asking_index():
            headers["Accept"] = ACCEPT_INDEX
            if self._gzip_index:  # the index may come compressed (see _unencoded)
                headers["Accept-Encoding"] = "gzip"
        return headers

    def _request(self, want: ByteRange, sink: _Sink | None) -> bytes:
        headers = self._headers(want)
        try:
            with self._follower.stream(headers=headers, on_answer=self._seen) as (url, r):
                return self._answer(url, want, r, sink)
        except httpx.TransportError as exc:
            raise Retryable(str(exc) or type(exc).__name__) from exc

    def _seen(self, url: str, r: httpx.Response) -> None:
        """Every answer, the redirects included: counted, and its ``Link`` looked at."""
        self._count(requests=1)
        if self.index_url is None:
            self.index_url = find_index_link(r.headers.get("link"), url)

    def _answer(self, url: str, want: ByteRange, r: httpx.Response, sink: _Sink | None) -> bytes:
        status = r.status_code
        if status == 206:
            return self._body(url, want, r, sink)
        if status == 200 and self._asking_index() and _media_type(r) == INDEX_MEDIA_TYPE:
            body = r.read()  # gzip decoded
            self._count(nbytes=r.num_bytes_downloaded)
            raise IndexServed(url, body)
        if status == 200 and _whole_object_fits(want, r):
            return self._whole(url, want, r, sink)
        if status == 200:  # closed unread: the whole object may be on its way
            raise RangeNotSupported(
                f"{url} answered a ranged GET with the whole object (200): it does not "
                "support Range requests, so it cannot be read lazily",
                url=url,
            )
        r.read()  # small (an error): read it, so the connection is reused
        if status == 416:
            return self._unsatisfiable(url, want, r)
        if status in RETRY_STATUSES:
            raise Retryable(f"HTTP {status}", r)
        if status in STALE_STATUSES and url != self._follower.start:
            raise Stale(f"HTTP {status}", url)
        raise error_for(r)

    def _asking_index(self) -> bool:
        """Whether requests still ask for the index: until the object's bytes answered."""
        return self._ask_index and self._identity is None

    def _body(self, url: str, want: ByteRange, r: httpx.Response, sink: _Sink | None) -> bytes:
        self._unencoded(url, r)
        got = self._check_range(url, want, r)
        return self._read_exactly(url, r, got, sink)

    def _unencoded(self, url: str, r: httpx.Response) -> None:
        """Check that bytes came as they are (their length and range count them so); an
        answer to a request that allowed gzip may not have: then ask again without."""
        if (r.headers.get("content-encoding") or "identity").strip().lower() == "identity":
            return
        if r.request.headers.get("accept-encoding") != "identity":
            self._gzip_index = False
            raise _Encoded(url)
        raise StreamError(f"{url} sent encoded bytes for a range", url=url)

    def _read_exactly(
        self, url: str, r: httpx.Response, got: ByteRange, sink: _Sink | None
    ) -> bytes:
        """The body of ``r``, which must be exactly ``got``; wanted ranges within it go to
        ``sink`` as soon as their bytes are in."""
        length = got.length
        data = bytearray(length)
        watch = sink.within(got) if sink is not None else None
        n = 0
        try:
            for chunk in r.iter_raw():
                if n + len(chunk) > length:
                    raise StreamError(f"{url} sent more than the {length} bytes asked", url=url)
                data[n : n + len(chunk)] = chunk
                n += len(chunk)
                if watch:
                    watch.advance(data, got.start + n)
        finally:
            self._count(nbytes=n)
        if n != length:
            raise Retryable(f"short body: {n} of {length} bytes")
        with self._lock:
            self._refreshes = 0  # a URL that expires every hour may be renewed forever
        if watch is not None and not watch and not watch.needs_body:
            return b""  # every wanted range in it was handed out: spare a copy of the body
        return bytes(data)

    def _whole(self, url: str, want: ByteRange, r: httpx.Response, sink: _Sink | None) -> bytes:
        """A 200 is a fair answer when the range asked covers the whole (small) object."""
        self._unencoded(url, r)
        size = int(r.headers["content-length"])
        self._learn(url, BlobIdentity(size, r.headers.get("etag")))
        return self._read_exactly(url, r, ByteRange(0, size), sink)

    def _check_range(self, url: str, want: ByteRange, r: httpx.Response) -> ByteRange:
        """The range the answer holds, after checking it is the one asked for."""
        try:
            got, total = parse_content_range(r.headers.get("content-range", ""))
        except ValueError as exc:
            raise StreamError(f"{url}: {exc}", url=url) from exc
        size = total if total is not None else (self._identity.size if self._identity else None)
        if size is None:
            raise StreamError(f"{url} did not say how large the object is", url=url)
        self._learn(url, BlobIdentity(size, r.headers.get("etag")))
        expected = ByteRange(want.start, min(want.stop, size))
        if got != expected:
            raise StreamError(
                f"{url} answered bytes {got.start}-{got.stop - 1} to a request for "
                f"{expected.start}-{expected.stop - 1}",
                url=url,
            )
        return got

    def _unsatisfiable(self, url: str, want: ByteRange, r: httpx.Response) -> bytes:
        """416: only an empty object (``bytes */0``) is a valid answer to our ranges."""
        if r.headers.get("content-range", "").strip() != "bytes */0":
            raise StreamError(f"{url} refused the range {want.header()}", url=url)
        self._learn(url, BlobIdentity(0, r.headers.get("etag")))
        return b""

    def _learn(self, url: str, seen: BlobIdentity) -> None:
        with self._lock:
            known = self._identity
            if known is None:
                self._identity = seen
                return
        if seen.size != known.size or (known.etag and seen.etag and seen.etag != known.etag):
            raise BlobChanged(
                f"{self.url} changed while being read: size {known.size} -> {seen.size}, "
                f"ETag {known.etag} -> {seen.etag}",
                url=url,
            )

    def _count(self, *, requests: int = 0, nbytes: int = 0) -> None:
        with self._lock:
            self.stats.requests += requests
            self.stats.bytes += nbytes


def _media_type(r: httpx.Response) -> str:
    header: str = r.headers.get("content-type", "")
    return header.split(";", 1)[0].strip().lower()


def _whole_object_fits(want: ByteRange, r: httpx.Response) -> bool:
    length = r.headers.get("content-length", "")
    return want.start == 0 and length.isdigit() and int(length) <= want.length


class _Sink:
    """Where the wanted ranges of one :meth:`HttpFetcher.fetch` call go once complete: the
    result list and the caller's ``on_ready``, each range exactly once (a retried request
    streams its body again; ranges already handed out are not handed out twice)."""

    def __init__(
        self, ranges: Sequence[ByteRange], results: list[bytes | None], on_ready: OnReady | None
    ) -> None:
        self.ranges = ranges
        self.results = results
        self.on_ready = on_ready
        self._lock = threading.Lock()
        self._by_stop = sorted(range(len(ranges)), key=lambda i: ranges[i].stop)

    def within(self, got: ByteRange) -> _Watch | None:
        """A watcher of the wanted ranges lying entirely in ``got`` (none without a callback:
        the ranges are then cut from the finished bodies, as cheaply)."""
        if self.on_ready is None:
            return None
        inside, straddling = [], False
        for i in self._by_stop:
            r = self.ranges[i]
            if got.start <= r.start < r.stop <= got.stop:
                inside.append(i)
            elif r.start < got.stop and got.start < r.stop:
                straddling = True  # cut from this body and another once both are in
        return _Watch(self, inside, got.start, needs_body=straddling) if inside else None

    def done(self, i: int, data: bytes) -> None:
        with self._lock:
            if self.results[i] is not None:
                return
            self.results[i] = data
        if self.on_ready is not None:
            self.on_ready(i, data)


class _Watch:
    """The wanted ranges within one request body, handed out in order of their end."""

    def __init__(self, sink: _Sink, inside: list[int], offset: int, *, needs_body: bool) -> None:
        self.sink = sink
        self.pending = inside
        self.offset = offset  # where the body starts in the object
        self.next = 0
        #: Whether a wanted range runs past this body, so the body must be kept whole.
        self.needs_body = needs_body

    def __bool__(self) -> bool:
        return self.next < len(self.pending)

    def advance(self, data: bytearray, stop: int) -> None:
        """The body holds the object's bytes up to ``stop`` (``data[0]`` is the body's first
        byte): hand out every wanted range that ends there or before."""
        sink, pending, offset = self.sink, self.pending, self.offset
        while self.next < len(pending):
            i = pending[self.next]
            r = sink.ranges[i]
            if r.stop > stop:
                return
            self.next += 1
            with memoryview(data) as view:  # one copy, not two (a bytearray slice copies)
                sink.done(i, bytes(view[r.start - offset : r.stop - offset]))
