"""DANDI's multipart upload protocol: initialize, complete, validate.

With a store that serves clients itself (S3) the part and complete URLs point at the store.
Otherwise they point at neuropil's ``/store/`` endpoints, signed like presigned URLs; the
functions in :mod:`neuropil.services.store_endpoints` answer them. The choice is
:mod:`neuropil.services.blob_urls`'s.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

import sqlalchemy as sa
from sqlalchemy.orm import Session

from neuropil.core.digests import ETAG_ALGORITHM, parse_etag, parts_for_size
from neuropil.db.models import AssetBlob, BlobClaim, Upload, User
from neuropil.errors import BadRequest, BlobExists, NotFound
from neuropil.services import auth, blob_urls, embargo_tags, visibility
from neuropil.services.context import Context
from neuropil.services.dandisets import get_dandiset_row
from neuropil.services.embargo import require_settled
from neuropil.services.urls import Urls
from neuropil.storage import blob_key

S3_NS = "http://s3.amazonaws.com/doc/2006-03-01/"


@dataclass(frozen=True)
class PartUrl:
    part_number: int
    size: int
    upload_url: str


def _parse_initialize(body: dict[str, Any]) -> tuple[int, str, str]:
    size = body.get("contentSize")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise BadRequest("'contentSize' must be a non-negative integer (the blob size in bytes).")
    digest = body.get("digest")
    if not isinstance(digest, dict):
        raise BadRequest("'digest' must be an object {'algorithm': ..., 'value': ...}.")
    if digest.get("algorithm") != ETAG_ALGORITHM:
        raise BadRequest(
            f"Unsupported digest algorithm {digest.get('algorithm')!r}; use {ETAG_ALGORITHM!r}."
        )
    etag = parse_etag(digest.get("value"))
    expected = len(parts_for_size(size))
    if int(etag.rsplit("-", 1)[1]) != expected:
        raise BadRequest(
            f"The dandi-etag {etag} has {etag.rsplit('-', 1)[1]} parts, but a blob of "
            f"{size} bytes has {expected}; recompute the digest."
        )
    dandiset = body.get("dandiset")
    if not isinstance(dandiset, str):
        raise BadRequest("'dandiset' must be the dandiset identifier, e.g. '000123'.")
    return size, etag, dandiset


def initialize_upload(
    ctx: Context, *, user: User | None, body: object, urls: Urls
) -> tuple[str, list[PartUrl]]:
    """Start an upload; a blob with the same etag that the caller may see is a 409.

    An embargoed blob the caller may not see is never answered with 409 (that would tell
    them it exists): they upload the bytes, and :func:`validate_upload` gives them the
    existing blob with a claim on it for their dandiset (``docs/design/embargo.md``)."""
    user = auth.require_approved(user)
    if not isinstance(body, dict):
        raise BadRequest("Expected a JSON object with contentSize, digest and dandiset.")
    size, etag, identifier = _parse_initialize(body)
    with ctx.db.read() as s:
        dandiset = get_dandiset_row(s, identifier)
        visibility.require_readable(s, user, dandiset)
        auth.require_owner(user, dandiset)
        require_settled(dandiset)
        existing = s.scalar(sa.select(AssetBlob).where(AssetBlob.etag == etag))
        if existing is not None and visibility.blob_readable(s, user, existing):
            raise BlobExists(existing.blob_id)
        embargoed = visibility.is_embargoed(dandiset)
    upload_id = str(uuid.uuid4())
    key = blob_key(upload_id)
    layout = parts_for_size(size)
    # Every part but the last has the first part's size: local stores write parts in place.
    # An embargoed upload's object is tagged from birth (a store that tags: S3).
    multipart_id = ctx.store.create_multipart(
        key, part_size=layout[0].size if layout else None, embargoed=embargoed
    )
    with ctx.db.write() as s:
        upload = Upload(
            upload_id=upload_id,
            dandiset_id=dandiset.id,
            user_id=user.id,
            key=key,
            multipart_id=multipart_id,
            etag=etag,
            size=size,
            embargoed=embargoed,
        )
        s.add(upload)
    parts = [
        PartUrl(
            p.number,
            p.size,
            blob_urls.part_upload_url(
                ctx, urls, key=key, multipart_id=multipart_id, part_number=p.number
            ),
        )
        for p in layout
    ]
    return upload_id, parts


def get_upload(ctx: Context, upload_id: str) -> Upload:
    try:
        uuid.UUID(upload_id)
    except ValueError as exc:
        raise NotFound(f"No upload {upload_id!r}.") from exc
    with ctx.db.read() as s:
        upload = s.get(Upload, upload_id)
    if upload is None:
        raise NotFound(f"No upload {upload_id!r}: it was validated, cancelled or has expired.")
    return upload


def _check_parts(upload: Upload, parts: object) -> list[dict[str, Any]]:
    expected = parts_for_size(upload.size)
    if not isinstance(parts, list) or (expected and not parts):
        raise BadRequest("'parts' must be a non-empty list of {part_number, size, etag}.")
    if len(parts) != len(expected):
        raise BadRequest(f"This upload has {len(expected)} parts; {len(parts)} were listed.")
    out = []
    for want, got in zip(
        expected,
        sorted(parts, key=lambda p: p.get("part_number", 0) if isinstance(p, dict) else 0),
        strict=True,
    ):
        if not isinstance(got, dict):
            raise BadRequest("Each part must be an object {part_number, size, etag}.")
        if got.get("part_number") != want.number or got.get("size") != want.size:
            raise BadRequest(
                f"Part {got.get('part_number')!r} of size {got.get('size')!r} does not match "
                f"part {want.number} of size {want.size}."
            )
        etag = got.get("etag")
        if not isinstance(etag, str) or len(etag.strip('"')) != 32:
            raise BadRequest(f"Part {want.number} needs the md5 'etag' its PUT answered.")
        out.append({"part_number": want.number, "etag": etag.strip('"')})
    return out


def complete_body(parts: list[dict[str, Any]]) -> str:
    inner = "".join(
        f"<Part><PartNumber>{p['part_number']}</PartNumber><ETag>{escape(p['etag'])}</ETag></Part>"
        for p in parts
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<CompleteMultipartUpload xmlns="{S3_NS}">{inner}</CompleteMultipartUpload>'
    )


def complete_upload(
    ctx: Context, *, user: User | None, upload_id: str, body: object, urls: Urls
) -> dict[str, str]:
    """Hand out the URL and XML body that assemble the parts (as S3's presigned POST)."""
    auth.require_approved(user)
    upload = get_upload(ctx, upload_id)
    auth.require_uploader(user, upload)
    parts = _check_parts(upload, body.get("parts") if isinstance(body, dict) else None)
    url = blob_urls.complete_upload_url(
        ctx, urls, key=upload.key, multipart_id=upload.multipart_id, part_count=len(parts)
    )
    return {"complete_url": url, "body": complete_body(parts)}


def validate_upload(ctx: Context, *, user: User | None, upload_id: str) -> AssetBlob:
    """Check the assembled object and register it as a blob (deduplicated by etag)."""
    auth.require_approved(user)
    upload = get_upload(ctx, upload_id)
    auth.require_uploader(user, upload)
    info = ctx.store.stat(upload.key)
    if info is None:
        raise BadRequest("The upload is not complete: the object does not exist yet.")
    problem = None
    if info.size != upload.size:
        problem = (
            f"Size of the uploaded object ({info.size}) does not match contentSize ({upload.size})."
        )
    elif info.etag.strip('"') != upload.etag:
        problem = (
            f"ETag of the uploaded object ({info.etag}) does not match the digest ({upload.etag})."
        )
    if problem is not None:
        _discard(ctx, upload)  # the bytes are wrong: keep nothing, the client starts over
        raise BadRequest(problem + " Nothing was stored; upload the file again.")
    if upload.embargoed:  # tagged before any blob row can name it
        embargo_tags.tag_upload(ctx, upload.key)
    duplicate = False
    try:
        with ctx.db.write() as s:
            blob = s.scalar(sa.select(AssetBlob).where(AssetBlob.etag == upload.etag))
            if blob is not None:  # an identical blob exists: keep one copy
                duplicate = True
                _claim(s, blob, upload)
            else:
                blob = AssetBlob(
                    blob_id=upload.upload_id,
                    key=upload.key,
                    etag=upload.etag,
                    size=upload.size,
                    embargoed=upload.embargoed,
                )
                s.add(blob)
                s.flush()
                _claim(s, blob, upload)
                ctx.jobs.enqueue(
                    s, "blob.sha256", {"blob_id": blob.blob_id}, dedup_key=f"sha256:{blob.blob_id}"
                )
            s.execute(sa.delete(Upload).where(Upload.upload_id == upload.upload_id))
    except sa.exc.IntegrityError:
        # An identical upload was validated at the same moment (PostgreSQL runs both
        # transactions side by side and the unique etag picks the winner): use its blob.
        with ctx.db.write() as s:
            blob = s.scalar(sa.select(AssetBlob).where(AssetBlob.etag == upload.etag))
            if blob is None:
                raise
            _claim(s, blob, upload)
            s.execute(sa.delete(Upload).where(Upload.upload_id == upload.upload_id))
        duplicate = True
    if duplicate:
        ctx.store.delete(upload.key)
    return blob


def _claim(s: Session, blob: AssetBlob, upload: Upload) -> None:
    """The uploader sent the bytes of an embargoed blob (new, or one that existed): their
    dandiset may use it (:func:`neuropil.services.visibility.blob_readable`)."""
    if not blob.embargoed:
        return
    known = s.get(BlobClaim, (blob.blob_id, upload.dandiset_id))
    if known is None:
        s.add(BlobClaim(blob_id=blob.blob_id, dandiset_id=upload.dandiset_id))


def _discard(ctx: Context, upload: Upload) -> None:
    with ctx.db.write() as s:
        s.execute(sa.delete(Upload).where(Upload.upload_id == upload.upload_id))
    ctx.store.delete(upload.key)
    ctx.store.abort_multipart(upload.key, upload.multipart_id)


def cancel_upload(ctx: Context, *, user: User | None, upload_id: str) -> None:
    user = auth.require_approved(user)
    upload = get_upload(ctx, upload_id)
    with ctx.db.read() as s:
        dandiset = get_dandiset_row(s, f"{upload.dandiset_id:06d}")
    auth.require_owner(user, dandiset)
    _discard(ctx, upload)
