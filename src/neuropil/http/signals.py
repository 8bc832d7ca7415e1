"""Control-flow signals shared by the code that reads blob bytes over HTTP.

They never leave the module that raises them: the download engine (``client/_ranged``) and
the streaming fetcher (``stream/fetch``) catch them to retry or re-resolve (redirects are
followed below them, by :class:`neuropil.http.redirects.Follower`).
"""

from __future__ import annotations

import httpx


class Retryable(Exception):
    """A transient failure: wait (honouring ``response``'s Retry-After) and try again."""

    def __init__(self, message: str, response: httpx.Response | None = None) -> None:
        super().__init__(message)
        self.response = response


class Stale(Exception):
    """The blob URL ``url`` answered as if expired or gone: resolve it again."""

    def __init__(self, message: str, url: str) -> None:
        super().__init__(message)
        self.url = url
