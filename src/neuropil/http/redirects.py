"""Redirects, followed by hand in one place.

httpx could follow them, but a reader of blob bytes has to see each hop: the API's download
URL answers with a redirect to the blob (often a presigned URL on another host), and

* the token goes to the API's origin only, never to where it redirects (a presigned URL
  would reject the request, and the token must not leak to a storage host);
* the blob URL a redirect names is worth keeping for the next request (one hop, not two);
* a chain longer than :data:`MAX_REDIRECTS` is an error, not a loop.

The download engine and the stream fetcher use the pieces (:func:`redirect_location`,
:class:`Hops`, :func:`same_origin`) inside their own ranged requests; :func:`get` is the
whole follower for a plain GET.
"""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

import httpx

from neuropil.errors import RemoteError
from neuropil.http.transport import Transport

MAX_REDIRECTS = 5
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


def redirect_location(response: httpx.Response) -> str | None:
    """Where a redirect answer points (its ``Location``, maybe relative), else None."""
    if response.status_code not in REDIRECT_STATUSES:
        return None
    return response.headers.get("location") or None


def same_origin(a: str, b: str) -> bool:
    """Whether two URLs share scheme and host:port, i.e. whether a token for one may go to
    the other."""
    pa, pb = urlsplit(a), urlsplit(b)
    return (pa.scheme, pa.netloc) == (pb.scheme, pb.netloc)


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

    def reset(self) -> None:
        """Start counting again: the chain made progress (bytes arrived)."""
        self.count = 0


def get(transport: Transport, url: str, *, ok: tuple[int, ...] = ()) -> httpx.Response:
    """GET ``url`` through ``transport`` (retries, errors), following redirects: the token
    goes only to the transport's API origin. Statuses in ``ok`` are returned, not raised."""
    hops = Hops(url)
    while True:
        answer = transport.request("GET", url, auth=same_origin(url, transport.api_url), ok=ok)
        location = redirect_location(answer)
        if location is None:
            return answer
        url = hops.follow(url, location)
