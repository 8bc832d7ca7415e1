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

from collections.abc import Mapping

from starlette.datastructures import MutableHeaders
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
                headers = MutableHeaders(scope=message)
                _add(headers, ALWAYS)
                if reviewer:
                    headers.add_vary_header(REVIEW_HEADER)
                    _add(headers, {"cache-control": "private"})
                if headers.get("content-type", "").startswith("text/html"):
                    _add(headers, HTML)
                    if not docs:
                        _add(headers, {"content-security-policy": PAGE_CSP})
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _add(headers: MutableHeaders, wanted: Mapping[str, str]) -> None:
    for name, value in wanted.items():
        if name not in headers:
            headers[name] = value
