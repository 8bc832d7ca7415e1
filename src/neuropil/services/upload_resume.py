"""Resuming an interrupted multipart upload (neuropil only; DANDI has no such endpoints).

The DANDI protocol forgets an upload on the client side when the client dies: a re-run
initializes a new upload and sends every byte again. These functions let a client find its
own upload of the same content (same dandiset, same dandi-etag) and learn which parts the
store already holds, with fresh URLs for the rest. DANDI's endpoints are untouched.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from neuropil.core.digests import parse_etag, parts_for_size
from neuropil.db.models import Upload, User
from neuropil.errors import BadRequest, NotFound
from neuropil.services import auth, blob_urls, visibility
from neuropil.services.context import Context
from neuropil.services.dandisets import get_dandiset_row
from neuropil.services.uploads import get_upload
from neuropil.services.urls import Urls


@dataclass(frozen=True)
class UploadSummary:
    """An upload in progress, as listed for resuming."""

    upload_id: str
    dandiset: str
    etag: str
    size: int
    created: datetime


@dataclass(frozen=True)
class PartStatus:
    """One part of an upload: where to PUT it and whether the store already has it."""

    part_number: int
    size: int
    upload_url: str
    uploaded: bool
    #: The md5 the store computed for an uploaded part (the ETag its PUT answered).
    etag: str | None


@dataclass(frozen=True)
class UploadStatus:
    summary: UploadSummary
    parts: list[PartStatus]


def _summary(upload: Upload) -> UploadSummary:
    return UploadSummary(
        upload.upload_id, f"{upload.dandiset_id:06d}", upload.etag, upload.size, upload.created
    )


def list_resumable(
    ctx: Context, *, user: User | None, dandiset: str | None, etag: str | None
) -> list[UploadSummary]:
    """The caller's uploads in progress of content ``etag`` to ``dandiset``, newest first.

    Permissions are those of ``POST /uploads/initialize/``: only an owner may upload, so
    only an owner may resume; and only the caller's own uploads are listed.
    """
    user = auth.require_approved(user)
    if not dandiset:
        raise BadRequest("Give the dandiset identifier: ?dandiset=000123&etag=<dandi-etag>.")
    etag = parse_etag(etag)
    with ctx.db.read() as s:
        row = get_dandiset_row(s, dandiset)
        visibility.require_readable(s, user, row)
        auth.require_owner(user, row)
        uploads = s.scalars(
            sa.select(Upload)
            .where(Upload.dandiset_id == row.id, Upload.etag == etag, Upload.user_id == user.id)
            .order_by(Upload.created.desc())
        ).all()
    return [_summary(u) for u in uploads]


def upload_status(ctx: Context, *, user: User | None, upload_id: str, urls: Urls) -> UploadStatus:
    """Which parts of an upload have arrived, with freshly signed URLs for all of them."""
    user = auth.require_approved(user)
    upload = get_upload(ctx, upload_id)
    with ctx.db.read() as s:
        row = get_dandiset_row(s, f"{upload.dandiset_id:06d}")
        visibility.require_readable(s, user, row)
        auth.require_owner(user, row)
    auth.require_uploader(user, upload)  # another owner's bytes are theirs to finish
    try:
        arrived = {p.part_number: p for p in ctx.store.list_parts(upload.key, upload.multipart_id)}
    except KeyError as exc:
        raise NotFound(
            f"Upload {upload_id} has no parts in storage any more (it expired); start over."
        ) from exc
    parts = []
    for part in parts_for_size(upload.size):
        got = arrived.get(part.number)
        done = got is not None and got.size == part.size
        parts.append(
            PartStatus(
                part.number,
                part.size,
                blob_urls.part_upload_url(
                    ctx,
                    urls,
                    key=upload.key,
                    multipart_id=upload.multipart_id,
                    part_number=part.number,
                ),
                done,
                got.etag.strip('"') if done and got is not None else None,
            )
        )
    return UploadStatus(_summary(upload), parts)
