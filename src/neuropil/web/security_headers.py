"""Security headers on every response, and a Content Security Policy on HTML pages.

The pages need no inline script or style (``static/neuropil.js`` and ``neuropil.css`` are
the only ones, loaded from this origin), so the policy allows scripts, styles and images
from ``'self'`` only: markup injected into a page (a dandiset name, say) could not run
even if escaping failed somewhere. ``frame-ancestors 'none'`` and ``X-Frame-Options: DENY``
keep the pages out of other sites' frames (clickjacking of the owner forms).

The OpenAPI documentation pages that FastAPI renders (``/api/docs/...``) load Swagger UI and
ReDoc from a CDN with an inline bootstrap script, so they get the frame and sniffing
headers but not the page policy. Responses that set their own policy (blob bytes, see
:mod:`neuropil.services.blob_headers`) keep it.

A request may carry a review link's token in a header (``X-Neuropil-Review``,
:mod:`neuropil.core.review_links`) rather than in its URL: its answer (an embargoed Zarr's
bytes, say) is then for that reader only, though its URL is one anonymous readers ask
too. Shared caches never store answers to requests with ``Authorization``; for this header
they are told so: ``Vary`` names it and, unless the answer says otherwise,
``Cache-Control: private``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from neuropil.core.review_links import REVIEW_HEADER

#: The policy of the web pages.
PAGE_CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
#: On every response.
ALWAYS: Mapping[str, str] = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
}
#: On every HTML response.
HTML: Mapping[str, str] = {"x-frame-options": "DENY"}
DOCS_PREFIX = "/api/docs/"
_REVIEW = REVIEW_HEADER.lower().encode("latin-1")


class SecurityHeaders:
    """ASGI middleware adding the headers above to responses that lack them."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        docs = str(scope.get("path", "")).startswith(DOCS_PREFIX)
        reviewer = any(name == _REVIEW for name, _ in scope.get("headers", ()))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = secured(message.get("headers", ()), docs, reviewer)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def secured(
    raw: Iterable[tuple[bytes, bytes]], docs: bool, reviewer: bool
) -> list[tuple[bytes, bytes]]:
    """A response's raw headers with those above that it lacks (read and added as the raw
    list: every response passes here, and :class:`~starlette.datastructures.MutableHeaders`
    decodes the whole list again for each header it looks up)."""
    headers = [(name.lower(), value) for name, value in raw]
    names = {name for name, _ in headers}

    def add(wanted: Iterable[tuple[bytes, bytes]]) -> None:
        for name, value in wanted:
            if name not in names:
                headers.append((name, value))
                names.add(name)

    add(_ALWAYS)
    if reviewer:
        _vary_on_review(headers)
        add(_PRIVATE)
    content_type = next((value for name, value in headers if name == b"content-type"), b"")
    if content_type.startswith(b"text/html"):
        add(_HTML)
        if not docs:
            add(_PAGE)
    return headers


def _vary_on_review(headers: list[tuple[bytes, bytes]]) -> None:
    """``Vary`` names the review header (added to a ``Vary`` the response has)."""
    for i, (name, value) in enumerate(headers):
        if name == b"vary":
            headers[i] = (name, value + b", " + _REVIEW_NAME)
            return
    headers.append((b"vary", _REVIEW_NAME))


def _encoded(headers: Mapping[str, str]) -> tuple[tuple[bytes, bytes], ...]:
    return tuple((k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items())


_ALWAYS = _encoded(ALWAYS)
_HTML = _encoded(HTML)
_PAGE = _encoded({"content-security-policy": PAGE_CSP})
_PRIVATE = _encoded({"cache-control": "private"})
_REVIEW_NAME = REVIEW_HEADER.encode("latin-1")
