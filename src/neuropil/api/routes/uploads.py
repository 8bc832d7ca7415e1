"""``/api/uploads/`` (DANDI's multipart protocol) and ``/api/blobs/digest/``."""

from __future__ import annotations

from typing import Any

from fastapi import Body
from starlette.responses import Response

from neuropil.api import schemas, serializers
from neuropil.api.caller import CurrentUser
from neuropil.api.responses import JSON
from neuropil.api.routing import Router
from neuropil.server.request import Ctx, ExternalUrls
from neuropil.services import blobs, uploads

router = Router(prefix="/api")


@router.post(
    "/uploads/initialize/",
    summary="Start an upload (409 + Location if the blob exists)",
    responses=schemas.ok("UploadInitialization"),
)
def initialize(
    ctx: Ctx, user: CurrentUser, urls: ExternalUrls, body: dict[str, Any] = Body(...)
) -> JSON:
    upload_id, parts = uploads.initialize_upload(ctx, user=user, body=body, urls=urls)
    return JSON(
        {
            "upload_id": upload_id,
            "parts": [
                {"part_number": p.part_number, "size": p.size, "upload_url": p.upload_url}
                for p in parts
            ],
        }
    )


@router.post(
    "/uploads/{upload_id}/complete/",
    summary="URL and body that assemble the parts",
    responses=schemas.ok("UploadCompletion"),
)
def complete(
    upload_id: str,
    ctx: Ctx,
    user: CurrentUser,
    urls: ExternalUrls,
    body: dict[str, Any] = Body(...),
) -> JSON:
    return JSON(uploads.complete_upload(ctx, user=user, upload_id=upload_id, body=body, urls=urls))


@router.post(
    "/uploads/{upload_id}/validate/",
    summary="Check the object and register the blob",
    responses=schemas.ok("Blob"),
)
def validate(upload_id: str, ctx: Ctx, user: CurrentUser) -> JSON:
    return JSON(serializers.blob(uploads.validate_upload(ctx, user=user, upload_id=upload_id)))


@router.delete("/uploads/{upload_id}/", status_code=204, summary="Cancel an upload")
def cancel(upload_id: str, ctx: Ctx, user: CurrentUser) -> Response:
    uploads.cancel_upload(ctx, user=user, upload_id=upload_id)
    return Response(status_code=204)


@router.post("/blobs/digest/", summary="Find a blob by digest", responses=schemas.ok("Blob"))
def blob_by_digest(ctx: Ctx, user: CurrentUser, body: dict[str, Any] = Body(...)) -> JSON:
    return JSON(serializers.blob(blobs.blob_by_digest(ctx, user=user, body=body)))
