"""neuropil-only upload endpoints: find and inspect an upload in progress to resume it.

``GET /api/uploads/?dandiset=ID&etag=E`` lists the caller's uploads of that content;
``GET /api/uploads/{upload_id}/`` says which parts arrived, with fresh part URLs. DANDI
defines neither (so no DANDI client behaviour changes); neuropil's client uses them to send
only the missing parts after an interruption.
"""

from __future__ import annotations

from typing import Any

from neuropil.api import schemas
from neuropil.api.caller import CurrentUser
from neuropil.api.responses import JSON
from neuropil.api.routing import Router
from neuropil.server.request import Ctx, ExternalUrls
from neuropil.services import upload_resume
from neuropil.services.metadata import isoformat

router = Router(prefix="/api")


def _summary(u: upload_resume.UploadSummary) -> dict[str, Any]:
    return {
        "upload_id": u.upload_id,
        "dandiset": u.dandiset,
        "etag": u.etag,
        "size": u.size,
        "created": isoformat(u.created),
    }


@router.get(
    "/uploads/",
    summary="The caller's uploads in progress of one content (neuropil)",
    responses=schemas.ok("UploadPage"),
)
def list_uploads(
    ctx: Ctx, user: CurrentUser, dandiset: str | None = None, etag: str | None = None
) -> JSON:
    found = upload_resume.list_resumable(ctx, user=user, dandiset=dandiset, etag=etag)
    results = [_summary(u) for u in found]
    return JSON({"count": len(results), "next": None, "previous": None, "results": results})


@router.get(
    "/uploads/{upload_id}/",
    summary="Parts of an upload in progress (neuropil)",
    responses=schemas.ok("UploadDetail"),
)
def upload_detail(upload_id: str, ctx: Ctx, user: CurrentUser, urls: ExternalUrls) -> JSON:
    status = upload_resume.upload_status(ctx, user=user, upload_id=upload_id, urls=urls)
    body = _summary(status.summary)
    body["parts"] = [
        {
            "part_number": p.part_number,
            "size": p.size,
            "upload_url": p.upload_url,
            "uploaded": p.uploaded,
            **({"etag": p.etag} if p.etag is not None else {}),
        }
        for p in status.parts
    ]
    return JSON(body)
