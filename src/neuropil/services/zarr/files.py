"""Changing a live Zarr's files: upload URLs, deletes, and reading one file's location.

``POST /api/zarr/{id}/files/`` hands out one signed ``PUT`` URL per file, in order
(:mod:`neuropil.services.zarr.urls`: the store's own, or neuropil's
``/store/zarr/<id>/<key>`` served by :mod:`neuropil.services.zarr.put`). Each URL is bound to
the file's md5: the ``PUT`` must carry it as ``Content-MD5`` and its body must hash to it.

Every change sends the Zarr back to ``Pending`` (checksum unknown) and its draft assets back
to validation, as on DANDI; a Zarr being ingested takes no changes.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from neuropil.core.ids import DRAFT
from neuropil.core.zarr_checksum import md5_from_base64
from neuropil.core.zarr_paths import key_parents, validate_zarr_key
from neuropil.db.models import (
    Asset,
    AssetStatus,
    User,
    Version,
    VersionAsset,
    ZarrArchive,
    ZarrStatus,
)
from neuropil.db.types import utcnow
from neuropil.errors import BadRequest, NotFound
from neuropil.services.context import Context
from neuropil.services.urls import Urls
from neuropil.services.versions import mark_draft_changed
from neuropil.services.zarr import layout, listing
from neuropil.services.zarr.archives import writable_zarr
from neuropil.services.zarr.urls import upload_url

#: DANDI's answer to a change while the Zarr is being ingested (the client shows it).
INGEST_ERROR = "Zarr archive is currently ingesting or has already ingested"
MAX_BATCH = 1000


@dataclass(frozen=True)
class UploadRequest:
    key: str
    md5: str


def _parse_uploads(body: object) -> list[UploadRequest]:
    if not isinstance(body, list):
        raise BadRequest("Send a JSON list of {'path': ..., 'base64md5': ...} objects.")
    if len(body) > MAX_BATCH:
        raise BadRequest(f"At most {MAX_BATCH} files per request; send {len(body)} in batches.")
    out, seen = [], set()
    for item in body:
        if not isinstance(item, dict):
            raise BadRequest("Each file must be an object {'path': ..., 'base64md5': ...}.")
        key = validate_zarr_key(item.get("path"))
        if key in seen:
            raise BadRequest(f"The path {key!r} is listed twice.")
        seen.add(key)
        out.append(UploadRequest(key, md5_from_base64(item.get("base64md5"))))
    clash = [u.key for u in out if any(p in seen for p in key_parents(u.key))]
    if clash:
        raise BadRequest(f"The path {clash[0]!r} lies inside another file of the same request.")
    return out


def refuse_clashes(ctx: Context, z: ZarrArchive, keys: list[str]) -> None:
    """A key may not be a folder of the Zarr, nor lie inside one of its files: the client
    deletes the old entry first (the official client does)."""
    for key in keys:
        for parent in key_parents(key):
            if ctx.store.stat(layout.live_key(z.zarr_id, parent)) is not None:
                raise BadRequest(
                    f"Zarr path {key!r} conflicts with the file {parent!r}; delete it first."
                )
        if listing.has_folder(ctx, z, key):
            raise BadRequest(f"Zarr path {key!r} conflicts with the folder {key + '/'!r}.")


def reopen(ctx: Context, s: Session, z: ZarrArchive) -> None:
    """The Zarr changes: Pending with no checksum, its draft assets back to validation."""
    was = z.status
    z.status = ZarrStatus.PENDING
    z.checksum = None
    z.file_count = 0
    z.size = 0
    z.modified = utcnow()
    if was == ZarrStatus.PENDING:
        return
    assets = sa.select(Asset.id).where(Asset.zarr_id == z.zarr_id, Asset.published.is_(False))
    s.execute(
        sa.update(Asset)
        .where(Asset.id.in_(assets))
        .values(status=AssetStatus.PENDING, validation_errors=[]),
        execution_options={"synchronize_session": False},
    )
    drafts = s.scalars(
        sa.select(Version)
        .join(VersionAsset, VersionAsset.version_id == Version.id)
        .where(VersionAsset.asset_id.in_(assets), Version.version == DRAFT)
        .distinct()
    ).all()
    for draft in drafts:
        mark_draft_changed(ctx, s, draft)


def request_uploads(
    ctx: Context, *, user: User | None, zarr_id: str, body: object, urls: Urls
) -> list[str]:
    """Signed PUT URLs for a batch of files, in the order asked."""
    uploads = _parse_uploads(body)
    with ctx.db.write() as s:
        z = writable_zarr(s, user, zarr_id)
        if z.status in (ZarrStatus.UPLOADED, ZarrStatus.INGESTING):
            raise BadRequest(INGEST_ERROR)
        refuse_clashes(ctx, z, [u.key for u in uploads])
        reopen(ctx, s, z)
        return [upload_url(ctx, urls, layout.live_key(z.zarr_id, u.key), u.md5) for u in uploads]


def _parse_deletes(body: object) -> list[str]:
    if not isinstance(body, list):
        raise BadRequest("Send a JSON list of {'path': ...} objects.")
    if len(body) > MAX_BATCH:
        raise BadRequest(f"At most {MAX_BATCH} files per request; send {len(body)} in batches.")
    keys = []
    for item in body:
        if not isinstance(item, dict):
            raise BadRequest("Each file must be an object {'path': ...}.")
        keys.append(validate_zarr_key(item.get("path")))
    return list(dict.fromkeys(keys))


def delete_files(ctx: Context, *, user: User | None, zarr_id: str, body: object) -> None:
    """Delete files (all of them exist, or nothing is deleted)."""
    keys = _parse_deletes(body)
    with ctx.db.write() as s:
        z = writable_zarr(s, user, zarr_id)
        if z.status in (ZarrStatus.UPLOADED, ZarrStatus.INGESTING):
            raise BadRequest(INGEST_ERROR)
        missing = [k for k in keys if ctx.store.stat(layout.live_key(z.zarr_id, k)) is None]
        if missing:
            raise BadRequest(f"Zarr archive has no file {missing[0]!r}; nothing was deleted.")
        reopen(ctx, s, z)
        zid = z.zarr_id
    # After the commit: a crash in between leaves a Pending Zarr with files the client
    # deletes again (a missing one is then refused, so it lists first).
    for key in keys:
        ctx.store.delete(layout.live_key(zid, key))


def locate(ctx: Context, z: ZarrArchive, key: str) -> listing.ListedFile:
    """The file at ``key`` (for a download or a key read), or :class:`NotFound`."""
    validate_zarr_key(key)
    found = listing.find(ctx, z, key)
    if found is None:
        raise NotFound(f"No file {key!r} in this Zarr archive.")
    return found
