"""Reviewers of a dandiset (neuropil only; DANDI has no read-only role, dandi-archive#1753).

``/api/dandisets/{id}/reviewers/``: the named accounts that may read an embargoed dandiset
(GET, PUT the whole list as DANDI's owners PUT). ``/api/dandisets/{id}/review-links/``:
links for anonymous peer review (GET, POST a new one, DELETE one to revoke it). Owners and
administrators only. A link's token works as ``?review=<token>`` (or in the
``X-Neuropil-Review`` header, :mod:`neuropil.api.caller`) on any API read and as
``/review/<token>`` in a browser (:mod:`neuropil.services.reviewers`).
"""

from __future__ import annotations

from typing import Any

from fastapi import Body
from starlette.responses import Response

from neuropil.api import schemas
from neuropil.api.caller import REVIEW_PARAM, CurrentUser
from neuropil.api.responses import JSON
from neuropil.api.routing import Router
from neuropil.server.request import Ctx, ExternalUrls
from neuropil.services import reviewers
from neuropil.services.metadata import isoformat
from neuropil.services.urls import Urls

router = Router(prefix="/api/dandisets/{identifier}")


def _reviewer(r: reviewers.Reviewer) -> dict[str, Any]:
    return {
        "username": r.username,
        "name": r.name,
        "expires": isoformat(r.expires) if r.expires else None,
        "created": isoformat(r.created),
    }


def _link(link: reviewers.ReviewLink) -> dict[str, Any]:
    return {
        "id": link.id,
        "label": link.label,
        "created": isoformat(link.created),
        "expires": isoformat(link.expires) if link.expires else None,
        "expired": link.expired,
        "created_by": link.created_by,
    }


def link_urls(urls: Urls, identifier: str, token: str) -> dict[str, str]:
    """Where a new link's token works: the web app, and the API's read endpoints."""
    return {
        "url": f"{urls.web}/review/{token}",
        "api_url": f"{urls.api}/dandisets/{identifier}/?{REVIEW_PARAM}={token}",
    }


@router.get(
    "/reviewers/",
    summary="Named reviewers of an embargoed dandiset (owners)",
    responses=schemas.ok("ReviewerList"),
)
def list_reviewers(identifier: str, ctx: Ctx, user: CurrentUser) -> JSON:
    found = reviewers.list_reviewers(ctx, user=user, identifier=identifier)
    return JSON([_reviewer(r) for r in found])


@router.put(
    "/reviewers/",
    summary="Replace the named reviewers (owners)",
    description='Body: [{"username": "bob", "expires": "2027-06-30" (optional)}, ...]; '
    "an empty list removes every named reviewer. Review links are left alone.",
    responses=schemas.ok("ReviewerList"),
)
def set_reviewers(identifier: str, ctx: Ctx, user: CurrentUser, body: Any = Body(...)) -> JSON:
    found = reviewers.set_reviewers(ctx, user=user, identifier=identifier, body=body)
    return JSON([_reviewer(r) for r in found])


@router.get(
    "/review-links/",
    summary="Review links of a dandiset (owners; no tokens)",
    responses=schemas.ok("ReviewLinkList"),
)
def list_links(identifier: str, ctx: Ctx, user: CurrentUser) -> JSON:
    return JSON([_link(k) for k in reviewers.list_links(ctx, user=user, identifier=identifier)])


@router.post(
    "/review-links/",
    status_code=201,
    summary="Create a review link (owners); its token is in this answer only",
    description='Body (optional): {"label": "...", "expires": "YYYY-MM-DD" or an ISO '
    f"date-time}}; links expire after {reviewers.DEFAULT_LINK_DAYS} days unless told.",
    responses=schemas.ok("NewReviewLink", 201),
)
def create_link(
    identifier: str,
    ctx: Ctx,
    user: CurrentUser,
    urls: ExternalUrls,
    body: dict[str, Any] | None = Body(None),
) -> JSON:
    body = body or {}
    new = reviewers.create_link(
        ctx, user=user, identifier=identifier, label=body.get("label"), expires=body.get("expires")
    )
    out = {**_link(new.link), "token": new.token, **link_urls(urls, identifier, new.token)}
    return JSON(out, status_code=201)


@router.delete("/review-links/{link_id}/", status_code=204, summary="Revoke a review link")
def revoke_link(identifier: str, link_id: str, ctx: Ctx, user: CurrentUser) -> Response:
    reviewers.revoke_link(ctx, user=user, identifier=identifier, link_id=link_id)
    return Response(status_code=204)
