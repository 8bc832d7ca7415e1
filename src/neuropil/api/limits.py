"""Request-body limits and the JSON text check, applied before any handler runs.

:class:`BodyLimits` is an ASGI middleware. Each request gets the limit of its route class
(:func:`limit_for`): a body announced larger (``Content-Length``) is refused with 413 before a
byte of it is read, and a body that grows past the limit while streaming (chunked, or a
lying ``Content-Length``) is cut off with 413 as soon as it does. The object-store stand-in
(``/store/...``: upload parts and their completion) is exempt: its routes check the URL
signature first and then refuse a byte more than a part's size or the completion limit.

API bodies FastAPI would parse as JSON are read whole (they are bounded by the limit) and
checked by :func:`neuropil.core.jsontext.check_body` first, so text that cannot be stored
(a lone UTF-16 surrogate, ``\\u0000``, non-UTF-8) is a 400 at every JSON write, in this one
place, before a handler or the database sees it. See ``docs/design/security.md``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from neuropil.core.jsontext import InvalidJsonText, check_body
from neuropil.errors import NeuropilError, PayloadTooLarge

KiB = 1 << 10
MiB = 1 << 20
#: Every body not named below: small JSON (uploads, digests, owners) and web forms.
DEFAULT_LIMIT = 1 * MiB
#: Metadata writes, the web metadata form, and the parts lists of 10,000-part uploads.
METADATA_LIMIT = 5 * MiB


@dataclass(frozen=True)
class Rule:
    """Requests whose method is in ``methods`` and whose path matches ``pattern`` may send
    ``limit`` bytes (``None``: no limit here, the handler bounds the body itself)."""

    methods: frozenset[str]
    pattern: re.Pattern[str]
    limit: int | None

    def matches(self, method: str, path: str) -> bool:
        return method in self.methods and self.pattern.match(path) is not None


def _rule(methods: str, pattern: str, limit: int | None) -> Rule:
    return Rule(frozenset(methods.split()), re.compile(pattern), limit)


#: First match wins; paths are as routed (``/api/...`` with its trailing slash).
RULES: tuple[Rule, ...] = (
    # The object-store stand-in bounds its own bodies, after checking the URL signature: a
    # part at most its size, the CompleteMultipartUpload XML at most 4 MiB.
    _rule("PUT POST", r"/store/", None),
    # A tar of many Zarr files (services/zarr/bulk.py): each file bounded and checked there.
    _rule("POST", r"/api/zarr/[^/]+/archive/$", None),
    _rule("POST", r"/api/dandisets/$", METADATA_LIMIT),
    _rule("PUT", r"/api/dandisets/[^/]+/versions/[^/]+/$", METADATA_LIMIT),
    _rule("POST PUT", r"/api/dandisets/[^/]+/versions/[^/]+/assets/", METADATA_LIMIT),
    _rule("POST", r"/api/uploads/[^/]+/complete/$", METADATA_LIMIT),
    _rule("POST", r"/dandiset/[^/]+/draft/metadata$", METADATA_LIMIT),
)


def limit_for(method: str, path: str, rules: Sequence[Rule] = RULES) -> int | None:
    """The most bytes a request body may have, or ``None`` for an exempt route."""
    for rule in rules:
        if rule.matches(method, path):
            return rule.limit
    return DEFAULT_LIMIT


def _too_large(limit: int) -> str:
    return (
        f"The request body is larger than this endpoint accepts ({limit // KiB} KiB); "
        "send less (large files go through the upload API)."
    )


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


def _parsed_as_json(scope: Scope) -> bool:
    """Whether FastAPI will parse this body as JSON (no type, ``json`` or ``+json``)."""
    if not str(scope.get("path", "")).startswith("/api/"):
        return False
    ctype = (_header(scope, b"content-type") or "").split(";", 1)[0].strip().lower()
    return ctype == "" or ctype == "application/json" or ctype.endswith("+json")


def _error(exc: NeuropilError) -> JSONResponse:
    """The answer :mod:`neuropil.api.errors` would give (``{"detail"}`` or DANDI's bare
    string). No ``Connection: close``: the server then drains the unread body after the
    answer, so a client still sending reads it instead of a reset connection."""
    body = {"detail": exc.message} if exc.detail_shape else exc.message
    return JSONResponse(body, status_code=exc.status_code)


class BodyLimits:
    """The ASGI middleware described in the module docstring."""

    def __init__(self, app: ASGIApp, *, limit: Callable[[str, str], int | None] = limit_for):
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        limit = self.limit(scope["method"], scope["path"])
        if limit is None:
            await self.app(scope, receive, send)
            return
        declared = _header(scope, b"content-length")
        if declared is not None and declared.strip().isdigit():
            # Compare lengths as text first: a 5,000-digit Content-Length is no int() job.
            text = declared.strip().lstrip("0") or "0"
            if len(text) > len(str(limit)) or int(text) > limit:
                await _error(PayloadTooLarge(_too_large(limit)))(scope, receive, send)
                return
        if _parsed_as_json(scope):
            await self._json(scope, receive, send, limit)
            return
        await self.app(scope, _counting(receive, limit), send)

    async def _json(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await _error(PayloadTooLarge(_too_large(limit)))(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if body:
            try:
                check_body(body)
            except InvalidJsonText as exc:
                await _error(exc)(scope, receive, send)
                return
        await self.app(scope, _replay(body, receive), send)


def _replay(body: bytes, receive: Receive) -> Receive:
    """The buffered body as one message, then the real channel (for disconnects)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _counting(receive: Receive, limit: int) -> Receive:
    """``receive`` that raises 413 once more than ``limit`` body bytes have arrived.

    FastAPI passes an :class:`HTTPException` raised while it reads a body through to the
    error handlers unchanged (anything else becomes a generic 400)."""
    size = 0

    async def counted() -> Message:
        nonlocal size
        message = await receive()
        if message["type"] == "http.request":
            size += len(message.get("body", b""))
            if size > limit:
                raise HTTPException(413, _too_large(limit))
        return message

    return counted
