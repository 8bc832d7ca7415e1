"""Who calls the API: DANDI's ``Authorization: token <key>`` header, or a review link.

A review link's token comes as ``?review=<token>`` or in the ``X-Neuropil-Review`` header
(:mod:`neuropil.core.review_links`): the header serves readers that append paths to a base
URL and drop its query (zarr-python under ``neuropil.open_zarr``). The web pages know their
visitor from a session cookie instead (:mod:`neuropil.web.state`).
"""

from __future__ import annotations

import functools
from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from neuropil.core.review_links import REVIEW_HEADER, REVIEW_PARAM
from neuropil.db.models import User
from neuropil.errors import NotAuthenticated
from neuropil.server.request import get_ctx, get_urls
from neuropil.services import auth, reviewers
from neuropil.services.context import Context
from neuropil.services.urls import Urls

__all__ = [
    "REVIEW_HEADER",
    "REVIEW_PARAM",
    "Call",
    "CurrentUser",
    "call_of",
    "get_user",
    "review_token",
]

# REVIEW_PARAM (``?review=<token>``) and REVIEW_HEADER carry a review link's token: read
# access to one embargoed dandiset without an ``Authorization`` header
# (:mod:`neuropil.services.reviewers`). Their names are shared with the client.


def review_token(request: Request) -> str | None:
    """A review link's token, from ``?review=`` or else the :data:`REVIEW_HEADER` header."""
    return request.query_params.get(REVIEW_PARAM) or request.headers.get(REVIEW_HEADER) or None


def get_user(request: Request) -> User | None:
    """The caller from ``Authorization: token <key>``, else from a review link's token
    (:func:`review_token`); neither means anonymous."""
    header = request.headers.get("authorization", "")
    keyword, _, key = header.partition(" ")
    if keyword.lower() != "token":
        review = review_token(request)
        if review:
            return reviewers.user_for_review_token(get_ctx(request), review)
        return None
    key = key.strip()
    if not key:
        raise NotAuthenticated("Invalid token header. No credentials provided.")
    return auth.user_for_token(get_ctx(request), key)


async def _user_dependency(request: Request) -> User | None:
    """:func:`get_user` as a dependency: anonymous callers cost no hop to the thread pool
    (a plain ``def`` dependency always does); a token (or review link) is looked up there."""
    headers = request.headers
    if (
        "authorization" not in headers
        and REVIEW_HEADER not in headers
        and REVIEW_PARAM not in request.query_params
    ):
        return None
    return await run_in_threadpool(get_user, request)


CurrentUser = Annotated[User | None, Depends(_user_dependency)]


class Call:
    """What a handler serves a request with: the context, the caller and (when asked for:
    the dandiset list needs none) the URLs a client sees."""

    def __init__(self, request: Request) -> None:
        self.request = request
        self.ctx: Context = get_ctx(request)
        self.user: User | None = get_user(request)

    @functools.cached_property
    def urls(self) -> Urls:
        return get_urls(self.request)


def call_of(request: Request) -> Call:
    """The :class:`Call` of ``request``, for the handlers of the hot reads
    (:func:`~neuropil.server.reads.short_read`), which take it from their request rather
    than as the dependencies ``Ctx``, ``CurrentUser`` and ``ExternalUrls``: FastAPI's
    solving of those three cost a tenth of a path lookup's whole CPU (counted with
    callgrind, ``docs/design/performance.md``, seventh round). They run on the event loop,
    or on a thread when they would wait: the caller's token is looked up there too."""
    return Call(request)
