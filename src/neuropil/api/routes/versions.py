"""``/api/dandisets/{id}/versions/``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Request

from neuropil.api import serializers
from neuropil.api.deps import Ctx, CurrentUser, ExternalUrls
from neuropil.api.pagination import counted, page_params
from neuropil.api.routes._util import JSON
from neuropil.services import versions
from neuropil.services.context import Context
from neuropil.services.metadata import version_metadata
from neuropil.services.urls import Urls

router = APIRouter(prefix="/api/dandisets/{identifier}/versions")


def _metadata(ctx: Context, view: versions.VersionView, urls: Urls) -> dict[str, Any]:
    return version_metadata(
        view.version,
        view.info.dandiset,
        urls,
        instance_name=ctx.settings.instance_name,
        asset_count=view.stats.asset_count,
        size=view.stats.size,
    )


def _info(ctx: Context, view: versions.VersionView, urls: Urls) -> dict[str, Any]:
    return serializers.version_info(view.version, view.stats, view.info, _metadata(ctx, view, urls))


@router.get("/", summary="Versions of a dandiset")
def list_versions(request: Request, identifier: str, ctx: Ctx, user: CurrentUser) -> JSON:
    page = page_params(request)
    total, info, rows = versions.list_versions(
        ctx,
        user=user,
        identifier=identifier,
        order=request.query_params.get("order"),
        offset=page.offset,
        limit=page.size,
    )
    return JSON(
        counted(request, page, [serializers.version_full(v, st, info) for v, st in rows], total)
    )


@router.get("/{version}/", summary="Version metadata")
def get_version(
    identifier: str, version: str, ctx: Ctx, user: CurrentUser, urls: ExternalUrls
) -> JSON:
    view = versions.get_version(ctx, user=user, identifier=identifier, version=version)
    return JSON(_metadata(ctx, view, urls))


@router.get("/{version}/info/", summary="Version with status and validation errors")
def version_info(
    identifier: str, version: str, ctx: Ctx, user: CurrentUser, urls: ExternalUrls
) -> JSON:
    view = versions.get_version(ctx, user=user, identifier=identifier, version=version)
    return JSON(_info(ctx, view, urls))


@router.put("/{version}/", summary="Update draft metadata")
def update_version(
    identifier: str,
    version: str,
    ctx: Ctx,
    user: CurrentUser,
    urls: ExternalUrls,
    body: dict[str, Any] = Body(...),
) -> JSON:
    view = versions.update_draft_metadata(
        ctx,
        user=user,
        identifier=identifier,
        version=version,
        name=body.get("name"),
        metadata=body.get("metadata"),
    )
    return JSON(_info(ctx, view, urls))
