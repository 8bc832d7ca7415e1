"""Who calls the API: DANDI's ``Authorization: token <key>`` header, or a review link.

The web pages know their visitor from a session cookie instead (:mod:`neuropil.web.state`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from neuropil.db.models import User
from neuropil.errors import NotAuthenticated
from neuropil.server.request import get_ctx
from neuropil.services import auth, reviewers

#: The query parameter of a review link's token (``?review=<token>``): read access to one
#: embargoed dandiset without an ``Authorization`` header (:mod:`neuropil.services.reviewers`).
REVIEW_PARAM = "review"


def get_user(request: Request) -> User | None:
    """The caller from ``Authorization: token <key>``, else from a review link's
    ``?review=<token>``; neither means anonymous."""
    header = request.headers.get("authorization", "")
    keyword, _, key = header.partition(" ")
    if keyword.lower() != "token":
        review = request.query_params.get(REVIEW_PARAM)
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
    if "authorization" not in request.headers and REVIEW_PARAM not in request.query_params:
        return None
    return await run_in_threadpool(get_user, request)


CurrentUser = Annotated[User | None, Depends(_user_dependency)]
