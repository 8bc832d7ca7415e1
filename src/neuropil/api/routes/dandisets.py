"""``/api/dandisets/``: list, create, read, delete, owners."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Request
from starlette.responses import Response

from neuropil.api import serializers
from neuropil.api.deps import Ctx, CurrentUser
from neuropil.api.pagination import counted, page_params
from neuropil.api.routes._util import JSON, flag
from neuropil.services import dandisets

router = APIRouter(prefix="/api/dandisets")


@router.get("/", summary="List dandisets")
def list_dandisets(request: Request, ctx: Ctx, user: CurrentUser) -> JSON:
    q = request.query_params
    page = page_params(request)
    if flag(q.get("embargoed"), False) and user is None:
        from neuropil.errors import NotAuthenticated

        raise NotAuthenticated("Listing embargoed dandisets requires authentication.")
    total, infos = dandisets.list_dandisets(
        ctx,
        user=user,
        draft=flag(q.get("draft"), True),
        empty=flag(q.get("empty"), True),
        mine=q.get("user") == "me",
        search=q.get("search") or None,
        ordering=q.get("ordering") or None,
        offset=page.offset,
        limit=page.size,
    )
    return JSON(counted(request, page, [serializers.dandiset_list_item(i) for i in infos], total))


@router.post("/", summary="Create a dandiset")
def create_dandiset(
    request: Request, ctx: Ctx, user: CurrentUser, body: dict[str, Any] = Body(...)
) -> JSON:
    info = dandisets.create_dandiset(
        ctx,
        user=user,
        name=body.get("name"),
        metadata=body.get("metadata"),
        embargo=flag(request.query_params.get("embargo"), False),
    )
    return JSON(serializers.dandiset_detail(info))


@router.get("/{identifier}/", summary="A dandiset")
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


@router.get("/{identifier}/users/", summary="Owners of a dandiset")
def owners(identifier: str, ctx: Ctx, user: CurrentUser) -> JSON:
    info = dandisets.get_dandiset(ctx, user=user, identifier=identifier)
    return JSON([serializers.owner(u, with_email=user is not None) for u in info.dandiset.owners])
