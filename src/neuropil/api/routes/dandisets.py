"""``/api/dandisets/``: list, create, read, delete, owners."""

from __future__ import annotations

from typing import Any

from fastapi import Body, Request
from starlette.responses import Response

from neuropil.api import schemas, serializers
from neuropil.api.caller import CurrentUser, call_of
from neuropil.api.pagination import counted, page_params
from neuropil.api.params import flag
from neuropil.api.responses import JSON
from neuropil.api.routing import Router
from neuropil.server.reads import short_read
from neuropil.server.request import Ctx, ExternalUrls
from neuropil.services import dandisets, embargo, unembargo, visibility
from neuropil.services import owners as owners_service

router = Router(prefix="/api/dandisets")


@router.get("/", summary="List dandisets", responses=schemas.ok("DandisetPage"))
@short_read
def list_dandisets(request: Request) -> JSON:
    call = call_of(request)
    ctx, user = call.ctx, call.user
    q = request.query_params
    page = page_params(request)
    total, infos = dandisets.list_dandisets(
        ctx,
        user=user,
        draft=flag(q.get("draft"), True),
        empty=flag(q.get("empty"), True),
        embargoed=flag(q.get("embargoed"), False),
        mine=q.get("user") == "me",
        search=q.get("search") or None,
        ordering=q.get("ordering") or None,
        offset=page.offset,
        limit=page.size,
    )
    return JSON(counted(request, page, [serializers.dandiset_list_item(i) for i in infos], total))


@router.post(
    "/",
    summary="Create a dandiset",
    description="With ?embargo=true it is embargoed (optional funding_source and "
    "award_number, both or neither, and embargo_end_date=YYYY-MM-DD: at most 2 years "
    "away, 5 with funding; 2 years by default).",
    responses=schemas.ok("Dandiset"),
)
def create_dandiset(
    request: Request, ctx: Ctx, user: CurrentUser, body: dict[str, Any] = Body(...)
) -> JSON:
    q = request.query_params
    terms = None
    if flag(q.get("embargo"), False):
        terms = embargo.parse_terms(
            funding_source=q.get("funding_source"),
            award_number=q.get("award_number"),
            end_date=q.get("embargo_end_date"),
        )
    info = dandisets.create_dandiset(
        ctx, user=user, name=body.get("name"), metadata=body.get("metadata"), embargo=terms
    )
    return JSON(serializers.dandiset_detail(info))


@router.get("/{identifier}/", summary="A dandiset", responses=schemas.ok("Dandiset"))
def get_dandiset(identifier: str, ctx: Ctx, user: CurrentUser) -> JSON:
    return JSON(
        serializers.dandiset_detail(dandisets.get_dandiset(ctx, user=user, identifier=identifier))
    )


@router.delete(
    "/{identifier}/", status_code=204, summary="Delete a dandiset (no published versions)"
)
def delete_dandiset(identifier: str, ctx: Ctx, user: CurrentUser) -> Response:
    dandisets.delete_dandiset(ctx, user=user, identifier=identifier)
    return Response(status_code=204)


@router.post(
    "/{identifier}/unembargo/",
    summary="End the embargo (owners): EMBARGOED -> UNEMBARGOING -> OPEN in the background",
    responses=schemas.ok("Dandiset"),
)
def unembargo_dandiset(identifier: str, ctx: Ctx, user: CurrentUser, urls: ExternalUrls) -> JSON:
    info = unembargo.request_unembargo(ctx, user=user, identifier=identifier, base_url=urls.base)
    return JSON(serializers.dandiset_detail(info))


@router.get(
    "/{identifier}/users/", summary="Owners of a dandiset", responses=schemas.ok("OwnerList")
)
def owners(identifier: str, ctx: Ctx, user: CurrentUser) -> JSON:
    info = dandisets.get_dandiset(ctx, user=user, identifier=identifier)
    # E-mail addresses are for the dandiset's owners, admins and reviewers, not every
    # signed-in account.
    with_email = visibility.access(ctx, user=user, dandiset=info.dandiset).insider
    return JSON([serializers.owner(u, with_email=with_email) for u in info.dandiset.owners])


@router.put(
    "/{identifier}/users/",
    summary="Replace the owners of a dandiset (owners only)",
    responses=schemas.ok("OwnerList"),
)
def set_owners(identifier: str, ctx: Ctx, user: CurrentUser, body: Any = Body(...)) -> JSON:
    new = owners_service.set_owners(ctx, user=user, identifier=identifier, body=body)
    return JSON([serializers.owner(u, with_email=True) for u in new])
