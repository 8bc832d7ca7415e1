"""Redirects: the one follower, under the download engine, the stream fetcher and the client.

httpx could follow them, but a reader of blob bytes has to see each hop: the API's download
URL answers with a redirect to the blob (often a presigned URL on another host), and

* the token goes only to the origin it was given for, by one rule (:class:`Target`): a
  request carries it when its URL has the origin (scheme, host, port) of the
  :class:`~neuropil.http.transport.Transport`'s API URL *and* every earlier request of its
  chain did too. A chain that leaves that origin never gets the token back, even when it
  comes back: a storage host never sees the token (a presigned URL would refuse the request
  anyway), and no other host can send the client back to the API to act with it;
* the URL a chain ends at is remembered (:class:`Follower`), so later requests go straight
  there: one request, not two;
* a chain of more than :data:`MAX_REDIRECTS` hops is an error
  (:class:`~neuropil.errors.RemoteError`, status 0: no usable answer), not a loop.

:class:`Follower` holds the one loop. :meth:`Follower.stream` sends a streamed request (the
download engine's and the stream fetcher's ranged GETs), :meth:`Follower.request` a plain one
with the transport's retries, :meth:`Follower.resolve` finds the first hop with one request
(a HEAD); :func:`get` is a whole GET. Retrying a failed answer stays with the caller, which
alone knows what a good answer is.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpx

from neuropil.errors import RemoteError
from neuropil.http.transport import Transport

MAX_REDIRECTS = 5
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})

#: ``on_answer(url, response)``: called for every answer of a chain, redirects included.
OnAnswer = Callable[[str, httpx.Response], None]


def redirect_location(response: httpx.Response) -> str | None:
    """Where a redirect answer points (its ``Location``, maybe relative), else None."""
    if response.status_code not in REDIRECT_STATUSES:
        return None
    return response.headers.get("location") or None


def same_origin(a: str, b: str) -> bool:
    """Whether two URLs share scheme and host:port."""
    pa, pb = urlsplit(a), urlsplit(b)
    return (pa.scheme, pa.netloc) == (pb.scheme, pb.netloc)


@dataclass(frozen=True)
class Target:
    """A URL to request, and whether the token goes with it (the module's token rule)."""

    url: str
    auth: bool

    @classmethod
    def start(cls, url: str, api_url: str) -> Target:
        """The first request of a chain: the token goes if ``url`` is on the API's origin."""
        return cls(url, same_origin(url, api_url))

    def hop(self, url: str) -> Target:
        """The next request of the chain: the token goes on only within the same origin."""
        return Target(url, self.auth and same_origin(url, self.url))


class Hops:
    """The redirects of one chain, starting at ``start``: each hop resolves a ``Location``
    against the URL that answered; one more than ``limit`` raises :class:`RemoteError`."""

    def __init__(self, start: str, *, limit: int = MAX_REDIRECTS) -> None:
        self.start = start
        self.limit = limit
        self.count = 0

    def follow(self, url: str, location: str) -> str:
        """The absolute URL that ``url``'s redirect to ``location`` names."""
        self.count += 1
        if self.count > self.limit:
            raise RemoteError(f"too many redirects from {self.start}", status_code=0, url=url)
        return urljoin(url, location)


Send = Callable[[Target], AbstractContextManager[httpx.Response]]


class Follower:
    """Requests for the object at ``start``, following its redirects through ``transport``.

    The URL a chain ends at (or a redirect names) is remembered: later requests start there,
    until :meth:`forget` or :meth:`resolve` says otherwise. Connections of one object share
    one follower (thread-safe).
    """

    def __init__(self, transport: Transport, start: str, *, limit: int = MAX_REDIRECTS) -> None:
        self._transport = transport
        self.start = transport.url(start)
        self.limit = limit
        self._first = Target.start(self.start, transport.api_url)
        self._target: Target | None = None  # where the last chain went: None, not yet known
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        """Where the next request goes."""
        return self._here().url

    @property
    def settled(self) -> bool:
        """Whether a request (or :meth:`resolve`) found where the object is."""
        return self._target is not None

    def forget(self, stale: str) -> bool:
        """``stale`` stopped working: start from :attr:`start` again, unless another
        connection already moved on. Whether it was forgotten."""
        with self._lock:
            if self._target is None or self._target.url != stale:
                return False
            self._target = None
            return True

    def resolve(self, method: str = "HEAD", *, ok: tuple[int, ...] = ()) -> None:
        """Find where :attr:`start` redirects with one request (a HEAD sends no body either
        way) and go there from now on; the start URL itself when it does not redirect.
        Only the first hop: a presigned URL is signed for GET and would refuse a HEAD."""
        answer = self._transport.request(method, self._first.url, auth=self._first.auth, ok=ok)
        location = redirect_location(answer)
        there = self._first
        if location is not None:
            there = self._first.hop(Hops(self.start, limit=self.limit).follow(there.url, location))
        with self._lock:
            self._target = there

    @contextmanager
    def stream(
        self,
        method: str = "GET",
        *,
        headers: Mapping[str, str] | None = None,
        on_answer: OnAnswer | None = None,
    ) -> Iterator[tuple[str, httpx.Response]]:
        """The final answer (not a redirect) as ``(url, response)``, its body not read yet.
        Transport errors are raised, not retried."""

        def send(target: Target) -> AbstractContextManager[httpx.Response]:
            return self._transport.stream(method, target.url, auth=target.auth, headers=headers)

        with self._follow(send, on_answer) as answer:
            yield answer

    def request(
        self,
        method: str = "GET",
        *,
        ok: tuple[int, ...] = (),
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """The final answer, read, with the transport's retries; an error status not in
        ``ok`` raises, as :meth:`Transport.request` does."""

        def send(target: Target) -> AbstractContextManager[httpx.Response]:
            return nullcontext(
                self._transport.request(
                    method, target.url, auth=target.auth, ok=ok, headers=headers
                )
            )

        with self._follow(send, None) as (_, response):
            return response

    @contextmanager
    def _follow(
        self, send: Send, on_answer: OnAnswer | None
    ) -> Iterator[tuple[str, httpx.Response]]:
        """The one loop: send, and while the answer is a redirect, send again where it
        points (token, remembered URL and hop limit as the module says)."""
        hops = Hops(self.start, limit=self.limit)
        here = self._here()
        while True:
            with send(here) as answer:
                if on_answer is not None:
                    on_answer(here.url, answer)
                location = redirect_location(answer)
                if location is None:
                    self._moved(here, here)
                    yield here.url, answer
                    return
                answer.read()  # small: read it, so the connection is reused
            there = here.hop(hops.follow(here.url, location))
            self._moved(here, there)
            here = there

    def _here(self) -> Target:
        with self._lock:
            return self._target or self._first

    def _moved(self, here: Target, there: Target) -> None:
        """A request to ``here`` led to ``there``: go there from now on, unless another
        connection already moved elsewhere."""
        with self._lock:
            if (self._target or self._first) == here:
                self._target = there


def get(
    transport: Transport,
    url: str,
    *,
    ok: tuple[int, ...] = (),
    headers: Mapping[str, str] | None = None,
) -> httpx.Response:
    """GET ``url`` through ``transport`` (retries, errors), following its redirects.
    Statuses in ``ok`` are returned, not raised."""
    return Follower(transport, url).request("GET", ok=ok, headers=headers)
