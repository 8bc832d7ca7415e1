"""One HTTP layer for API calls and blob bytes: timeouts, pooling, retries with backoff.

An error answer becomes a :class:`~neuropil.errors.RemoteError` here, and only here, as the
subclass its status means (:func:`error_for`). ``transport=`` hands the ``httpx.Client`` an
httpx transport of the caller's (``httpx.MockTransport`` in tests) instead of the network.
"""

from __future__ import annotations

import email.utils
import logging
import random
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import httpx

from neuropil._version import __version__
from neuropil.core.review_links import REVIEW_HEADER
from neuropil.errors import RemoteError, remote_error
from neuropil.http.netbackend import http_transport
from neuropil.http.tls import client_context

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
#: A 500 may come after a non-idempotent request took effect: only retry it when safe.
IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})


def retry_after(response: httpx.Response | None, max_wait: float = 600.0) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date)."""
    if response is None:
        return None
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return min(max(float(value), 0.0), max_wait)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return min(max(when.timestamp() - time.time(), 0.0), max_wait)


class Backoff:
    """Exponential backoff with full jitter, overridden by ``Retry-After``."""

    def __init__(self, *, attempts: int = 8, base: float = 0.25, cap: float = 30.0) -> None:
        self.attempts = attempts
        self.base = base
        self.cap = cap

    def delay(self, attempt: int, response: httpx.Response | None = None) -> float:
        hinted = retry_after(response)
        if hinted is not None:
            return hinted
        return random.uniform(0, min(self.cap, self.base * 2**attempt))


def _detail(response: httpx.Response) -> str:
    """The server's own words: its JSON ``detail`` (DANDI's shape), else the body's start."""
    try:
        body = response.json()
    except ValueError:
        body = response.text[:500]
    if isinstance(body, dict) and "detail" in body:
        body = body["detail"]
    return body if isinstance(body, str) else str(body)


def error_for(response: httpx.Response) -> RemoteError:
    """The error for an error answer (read already): the :class:`RemoteError` subclass its
    status means, with the request and the server's own message."""
    request = response.request
    url, detail = str(request.url), _detail(response)
    message = f"{request.method} {url} -> {response.status_code}: {detail}"
    return remote_error(
        message, status_code=response.status_code, url=url, method=request.method, detail=detail
    )


class Transport:
    """A pooled ``httpx.Client`` bound to an API base URL and an optional token, or a
    review link's token (``review``, sent in its header: :mod:`neuropil.core.review_links`).
    Either goes only with requests that ask for ``auth`` (the API's origin).

    ``transport`` replaces the network below the client (an ``httpx.BaseTransport`` such as
    ``httpx.MockTransport``); the default is the tuned network backend with neuropil's TLS
    trust. Everything above it (retries, errors, redirects left to the caller) is the same.
    """

    def __init__(
        self,
        api_url: str,
        token: str | None = None,
        *,
        review: str | None = None,
        backoff: Backoff | None = None,
        timeout: httpx.Timeout | None = None,
        max_connections: int = 32,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.token = token
        self.review = review
        self.backoff = backoff or Backoff()
        if transport is None:
            limits = httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            )
            transport = http_transport(limits=limits, verify=client_context())
        self.client = httpx.Client(
            timeout=timeout or httpx.Timeout(60.0, connect=10.0),
            transport=transport,
            headers={"User-Agent": f"neuropil/{__version__}"},
            follow_redirects=False,
        )

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> Transport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        return f"{self.api_url}/{path.lstrip('/')}"

    def _headers(self, auth: bool, extra: Mapping[str, str] | None) -> dict[str, str]:
        headers = dict(extra or {})
        if auth and self.token:
            headers["Authorization"] = f"token {self.token}"
        if auth and self.review:
            headers[REVIEW_HEADER] = self.review
        return headers

    def request(
        self,
        method: str,
        path: str,
        *,
        auth: bool = True,
        ok: tuple[int, ...] = (),
        headers: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """Send a request with retries; statuses in ``ok`` (and 2xx/3xx) are returned, any
        other error status raises the :class:`RemoteError` subclass it means (redirects are
        returned, not followed: see :mod:`neuropil.http.redirects`)."""
        url = self.url(path)
        hdrs = self._headers(auth, headers)
        for attempt in range(self.backoff.attempts):
            response = None
            try:
                response = self.client.request(method, url, headers=hdrs, **kwargs)
            except httpx.TransportError as exc:
                if attempt + 1 >= self.backoff.attempts:
                    raise RemoteError(
                        f"{method} {url} failed: {exc}", status_code=0, url=url
                    ) from exc
                log.debug("%s %s: %s; retrying", method, url, exc)
            else:
                if response.status_code < 400 or response.status_code in ok:
                    return response
                if (
                    response.status_code not in RETRY_STATUSES
                    or attempt + 1 >= self.backoff.attempts
                ):
                    raise error_for(response)
                log.debug("%s %s -> %s; retrying", method, url, response.status_code)
            time.sleep(self.backoff.delay(attempt, response))
        raise AssertionError("unreachable")

    def get_json(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs).json()

    def post_json(self, path: str, body: Any = None, **kwargs: Any) -> Any:
        return self.request("POST", path, json=body, **kwargs).json()

    def paginate(self, path: str, params: Mapping[str, Any] | None = None) -> Iterator[Any]:
        url: str | None = self.url(path)
        query: Mapping[str, Any] | None = params
        while url:
            page = self.request("GET", url, params=query).json()
            yield from page["results"]
            url, query = page.get("next"), None

    @contextmanager
    def stream(
        self, method: str, url: str, *, auth: bool = False, headers: Mapping[str, str] | None = None
    ) -> Iterator[httpx.Response]:
        with self.client.stream(method, self.url(url), headers=self._headers(auth, headers)) as r:
            yield r
