"""``/api/dandisets/{id}/versions/``: list, metadata, info, draft updates, publish, manifests."""

from __future__ import annotations

from typing import Any

from fastapi import Body, Request
from starlette.responses import Response

from neuropil.api import openapi, schemas, serializers
from neuropil.api.caller import CurrentUser, call_of
from neuropil.api.pagination import counted, page_params
from neuropil.api.responses import JSON
from neuropil.api.routing import Router
from neuropil.api.streaming import ObjectResponse
from neuropil.errors import BadRequest
from neuropil.server.reads import short_read
from neuropil.server.request import Ctx, ExternalUrls, external_base
from neuropil.services import manifests, publish, versions
from neuropil.services.context import Context
from neuropil.services.dandisets import load_infos
from neuropil.services.metadata import version_metadata
from neuropil.services.urls import Urls

router = Router(prefix="/api/dandisets/{identifier}/versions")


def _metadata(ctx: Context, view: versions.VersionView, urls: Urls) -> dict[str, Any]:
    return version_metadata(
        view.version, view.head.dandiset, urls, instance_name=ctx.settings.instance_name
    )


def _info(ctx: Context, view: versions.VersionView, urls: Urls) -> dict[str, Any]:
    return serializers.version_info(
        view.version, view.stats, view.head, _metadata(ctx, view, urls), view.asset_errors
    )


@router.get("/", summary="Versions of a dandiset", responses=schemas.ok("VersionPage"))
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
    head = info.head
    return JSON(
        counted(request, page, [serializers.version_full(v, st, head) for v, st in rows], total)
    )


@router.get("/{version}/", summary="Version metadata", responses=schemas.ok("VersionMetadata"))
def get_version(
    identifier: str, version: str, ctx: Ctx, user: CurrentUser, urls: ExternalUrls
) -> JSON:
    view = versions.get_version(ctx, user=user, identifier=identifier, version=version)
    return JSON(_metadata(ctx, view, urls))


@router.get(
    "/{version}/info/",
    summary="Version with status and validation errors",
    responses=schemas.ok("VersionInfo"),
)
@short_read
def version_info(request: Request, identifier: str, version: str) -> JSON:
    call = call_of(request)
    ctx, user, urls = call.ctx, call.user, call.urls
    view = versions.get_version(
        ctx, user=user, identifier=identifier, version=version, with_errors=True
    )
    return JSON(_info(ctx, view, urls))


@router.put("/{version}/", summary="Update draft metadata", responses=schemas.ok("VersionInfo"))
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


@router.delete("/{version}/", status_code=204, summary="Delete a version (always refused)")
def delete_version(identifier: str, version: str, ctx: Ctx, user: CurrentUser) -> Response:
    versions.delete_version(ctx, user=user, identifier=identifier, version=version)
    return Response(status_code=204)  # pragma: no cover - delete_version always raises


def _release_notes(request: Request, body: Any) -> object:
    """DANDI's body ``{"release_notes": ...}``; also ``{"releaseNotes": ...}`` (the metadata
    field's name) and ``?release_notes=``. No body means no notes."""
    if body is not None and not isinstance(body, dict):
        raise BadRequest("The publish body must be a JSON object {'release_notes': ...}.")
    for key in ("release_notes", "releaseNotes"):
        if body and key in body:
            return body[key]
    return request.query_params.get("release_notes")


@router.post(
    "/{version}/publish/",
    status_code=202,
    summary="Publish the draft (202; a job)",
    responses=schemas.ok("Version", 202),
)
def publish_version(
    request: Request,
    identifier: str,
    version: str,
    ctx: Ctx,
    user: CurrentUser,
    body: Any = Body(None),
) -> JSON:
    """Lock the draft and queue the publish job. DANDI answers 202 with no body; this
    answers 202 with the draft (status ``Publishing``), which clients ignore."""
    dandiset, draft = publish.request_publish(
        ctx,
        user=user,
        identifier=identifier,
        version=version,
        release_notes=_release_notes(request, body),
        base_url=external_base(request, ctx),
    )
    with ctx.db.read() as s:
        info = load_infos(s, [dandiset])[0]
    return JSON(serializers.version_full(draft, info.stats_for(draft), info.head), status_code=202)


#: dandiset.yaml/.jsonld hold the version's metadata; assets.yaml/.jsonld a list of its assets'.
MANIFEST_SCHEMA: dict[str, Any] = {
    "anyOf": [{"type": "object"}, {"type": "array", "items": {"type": "object"}}]
}


def _manifest(
    request: Request, identifier: str, version: str, name: str, ctx: Context, user: Any
) -> ObjectResponse:
    key, obj = manifests.find(ctx, user=user, identifier=identifier, version=version, name=name)
    store = ctx.store
    return ObjectResponse(
        size=obj.size,
        etag=obj.etag,
        modified=obj.modified,
        range_header=request.headers.get("range"),
        head=request.method == "HEAD",
        path=store.local_path(key),
        reader=lambda r: store.read(key, r),
        content_type=manifests.MANIFESTS[name],
        if_none_match=request.headers.get("if-none-match"),
    )


@router.api_route(
    "/{version}/manifests/{name}",
    methods=["GET", "HEAD"],
    summary="A manifest of a version (YAML or JSON-LD, by name)",
    response_class=Response,
    responses=openapi.object_responses(
        *sorted(set(manifests.MANIFESTS.values())), schema=MANIFEST_SCHEMA
    ),
)
def get_manifest(
    request: Request, identifier: str, version: str, name: str, ctx: Ctx, user: CurrentUser
) -> ObjectResponse:
    return _manifest(request, identifier, version, name, ctx, user)


@router.api_route("/{version}/manifests/{name}/", methods=["GET", "HEAD"], include_in_schema=False)
def get_manifest_slash(
    request: Request, identifier: str, version: str, name: str, ctx: Ctx, user: CurrentUser
) -> ObjectResponse:
    return _manifest(request, identifier, version, name, ctx, user)
