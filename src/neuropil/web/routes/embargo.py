"""Embargo pages: opening a review link, the owners' reviewers page, ending an embargo.

``/review/<token>`` keeps the link's token in a cookie and shows the dandiset: the browser
then reads as that link's reviewer until the link expires or is revoked (or the visitor
signs in or out). ``/dandiset/{id}/reviewers`` lets owners grant named accounts read access
and create or revoke review links; a new link's URL is shown once, on the page that answers
its creation. Services decide every permission (:mod:`neuropil.services.reviewers`).
"""

from __future__ import annotations

from datetime import timedelta

from starlette.responses import Response

from neuropil.db.types import utcnow
from neuropil.errors import BadRequest
from neuropil.services import reviewers, unembargo
from neuropil.web.errors import page_router
from neuropil.web.render import render
from neuropil.web.routes.dandiset import load_version
from neuropil.web.state import FormDep, Web, WebDep, field

router = page_router()

#: How long the review cookie lives for a link without an expiry (links have one).
COOKIE_DAYS = 90


@router.get("/review/{token}")
def open_review_link(token: str, web: WebDep) -> Response:
    identifier, expires = reviewers.review_target(web.ctx, token)
    max_age = int((expires - utcnow()).total_seconds()) if expires else COOKIE_DAYS * 86400
    web.start_review(token, max(max_age, 1))
    if web.user is None:
        flash = f"You are reviewing dandiset {identifier} (read only)."
    else:
        flash = f"Signed in as {web.user.username}: sign out to read as the review link."
    # Redirected at once, so the token leaves the address bar (and the Referer of any
    # link followed from the page).
    return web.redirect(f"/dandiset/{identifier}/draft", flash=flash)


def _reviewers_page(
    web: Web, identifier: str, *, new_link: reviewers.NewLink | None = None, status: int = 200
) -> Response:
    page = load_version(web, identifier, "draft")
    named = reviewers.list_reviewers(web.ctx, user=web.user, identifier=identifier)
    links = reviewers.list_links(web.ctx, user=web.user, identifier=identifier)
    new_url = f"{web.base}/review/{new_link.token}" if new_link is not None else None
    default_expiry = (utcnow() + timedelta(days=reviewers.DEFAULT_LINK_DAYS)).date()
    return render(
        web,
        "reviewers.html",
        status=status,
        page=page,
        named=named,
        links=links,
        new_link=new_link.link if new_link is not None else None,
        new_url=new_url,
        default_expiry=default_expiry.isoformat(),
    )


@router.get("/dandiset/{identifier}/reviewers")
def reviewers_page(identifier: str, web: WebDep) -> Response:
    return _reviewers_page(web, identifier)


@router.post("/dandiset/{identifier}/reviewers/add")
def add_reviewer(identifier: str, web: WebDep, form: FormDep) -> Response:
    username = field(form, "username").strip()
    reviewers.add_reviewer(
        web.ctx,
        user=web.user,
        identifier=identifier,
        username=username,
        expires=field(form, "expires") or None,
    )
    return web.redirect(
        f"/dandiset/{identifier}/reviewers", flash=f"{username} may read the dandiset now."
    )


@router.post("/dandiset/{identifier}/reviewers/remove")
def remove_reviewer(identifier: str, web: WebDep, form: FormDep) -> Response:
    username = field(form, "username")
    reviewers.remove_reviewer(web.ctx, user=web.user, identifier=identifier, username=username)
    return web.redirect(
        f"/dandiset/{identifier}/reviewers", flash=f"{username} is no longer a reviewer."
    )


@router.post("/dandiset/{identifier}/review-links/create")
def create_link(identifier: str, web: WebDep, form: FormDep) -> Response:
    new = reviewers.create_link(
        web.ctx,
        user=web.user,
        identifier=identifier,
        label=field(form, "label"),
        expires=field(form, "expires") or None,
    )
    return _reviewers_page(web, identifier, new_link=new, status=201)


@router.post("/dandiset/{identifier}/review-links/{link_id}/revoke")
def revoke_link(identifier: str, link_id: str, web: WebDep, form: FormDep) -> Response:
    reviewers.revoke_link(web.ctx, user=web.user, identifier=identifier, link_id=link_id)
    return web.redirect(f"/dandiset/{identifier}/reviewers", flash="The review link is revoked.")


@router.post("/dandiset/{identifier}/unembargo")
def unembargo_dandiset(identifier: str, web: WebDep, form: FormDep) -> Response:
    if field(form, "confirm").strip() != identifier:
        raise BadRequest(f"Type the identifier {identifier} to confirm the end of the embargo.")
    unembargo.request_unembargo(web.ctx, user=web.user, identifier=identifier, base_url=web.base)
    return web.redirect(
        f"/dandiset/{identifier}/draft",
        flash="Unembargoing: the dandiset is open to everyone in a moment.",
    )
