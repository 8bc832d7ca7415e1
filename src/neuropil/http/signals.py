"""Control-flow signals shared by the code that reads blob bytes over HTTP.

They never leave the module that raises them: the download engine (``client/_ranged``) and
the streaming fetcher (``stream/fetch``) catch them to retry, re-resolve or follow a redirect.
"""

from __future__ import annotations

import httpx


class Retryable(Exception):
    """A transient failure: wait (honouring ``response``'s Retry-After) and try again."""

    def __init__(self, message: str, response: httpx.Response | None = None) -> None:
        super().__init__(message)
        self.response = response


class Stale(Exception):
    """The blob URL answered as if expired or gone: resolve it again."""


class Redirect(Exception):
    """The blob URL redirected; ``location`` is where to."""

    def __init__(self, location: str) -> None:
        super().__init__(location)
        self.location = location
