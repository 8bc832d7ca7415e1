"""Finalizing a Zarr: ``Pending`` -> ``Uploaded`` -> ``Ingesting`` -> ``Complete``.

``finalize`` sets ``Uploaded`` and enqueues ``zarr.ingest`` in the same transaction, so the
job is as durable as the status: a server killed at any point finds the job again when it
starts (its lease is released at start-up) and the job simply runs again, because it only
reads the store's listing and writes its result in one transaction.

The job lists the Zarr, computes the checksum with ``zarr_checksum`` (the field's own
definition), tags each file in the bucket if the dandiset is embargoed
(:mod:`neuropil.services.zarr.tags`), and in one transaction sets ``Complete`` with
checksum, file count and size, resizes the Zarr's assets in their drafts' folder trees and
validates those assets. A file
PUT while it listed (a URL issued before the finalize) bumps the Zarr's ``modified``; the
job then lists again instead of writing a stale checksum.
"""

from __future__ import annotations

import logging
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from neuropil.core.ids import DRAFT
from neuropil.core.zarr_checksum import ZarrChecksum, zarr_checksum
from neuropil.db.models import (
    Asset,
    AssetStatus,
    User,
    Version,
    VersionAsset,
    VersionStatus,
    ZarrArchive,
    ZarrStatus,
)
from neuropil.db.types import utcnow
from neuropil.errors import BadRequest
from neuropil.jobs.protocol import PermanentJobError
from neuropil.services.content import ZarrRecord
from neuropil.services.context import Context
from neuropil.services.tree import resize_in_tree
from neuropil.services.validity import asset_errors
from neuropil.services.versions import mark_draft_changed
from neuropil.services.zarr import listing, tags
from neuropil.services.zarr.archives import record, writable_zarr
from neuropil.services.zarr.files import INGEST_ERROR

log = logging.getLogger(__name__)

INGEST_JOB = "zarr.ingest"
#: Listings tried before the job gives up on a Zarr that keeps changing under it.
MAX_LISTINGS = 5


def ingest_key(zarr_id: str) -> str:
    return f"{INGEST_JOB}:{zarr_id}"


def finalize(ctx: Context, *, user: User | None, zarr_id: str) -> None:
    """Queue the ingest of a Pending Zarr that holds files."""
    with ctx.db.write() as s:
        z = writable_zarr(s, user, zarr_id)
        if z.status != ZarrStatus.PENDING:
            raise BadRequest(INGEST_ERROR)
        if next(listing.iter_files(ctx, z), None) is None:
            raise BadRequest("The Zarr archive has no files; upload some before finalizing.")
        z.status = ZarrStatus.UPLOADED
        z.modified = utcnow()
        ctx.jobs.enqueue(s, INGEST_JOB, {"zarr_id": z.zarr_id}, dedup_key=ingest_key(z.zarr_id))


def _start(ctx: Context, zarr_id: str) -> tuple[ZarrArchive, datetime] | None:
    with ctx.db.write() as s:
        z = s.get(ZarrArchive, zarr_id, with_for_update=True)
        if z is None:
            raise PermanentJobError(f"Zarr archive {zarr_id} no longer exists")
        if z.status not in (ZarrStatus.UPLOADED, ZarrStatus.INGESTING):
            return None  # ingested already, or changed and waiting for a new finalize
        z.status = ZarrStatus.INGESTING
        s.flush()
        s.expunge(z)
        return z, z.modified


def ingest(ctx: Context, zarr_id: str) -> ZarrChecksum | None:
    """The ``zarr.ingest`` job; returns the checksum written (``None``: nothing to do)."""
    for _ in range(MAX_LISTINGS):
        started = _start(ctx, zarr_id)
        if started is None:
            return None
        z, token = started
        files = tags.tagging(ctx, z, listing.iter_files(ctx, z))  # embargoed: tag each file
        checksum = zarr_checksum(f.as_zarr_file() for f in files)
        if _complete(ctx, zarr_id, token, checksum):
            log.info("ingested Zarr %s: %s", zarr_id, checksum)
            return checksum
    raise RuntimeError(f"Zarr archive {zarr_id} kept changing while it was ingested")


def _complete(ctx: Context, zarr_id: str, token: datetime, checksum: ZarrChecksum) -> bool:
    with ctx.db.write() as s:
        z = s.get(ZarrArchive, zarr_id, with_for_update=True)
        if z is None or z.status != ZarrStatus.INGESTING:
            return True  # deleted or reopened meanwhile: a later finalize ingests it
        if z.modified != token:
            return False
        z.status = ZarrStatus.COMPLETE
        z.checksum = str(checksum)
        z.file_count = checksum.count
        z.size = checksum.size
        z.modified = utcnow()
        s.flush()
        _settle_assets(ctx, s, z)
    return True


def _settle_assets(ctx: Context, s: Session, z: ZarrArchive) -> None:
    """The Zarr's draft assets: new size in their folder trees, validated now."""
    rows = s.execute(
        sa.select(Asset, Version)
        .join(VersionAsset, VersionAsset.asset_id == Asset.id)
        .join(Version, Version.id == VersionAsset.version_id)
        .where(Asset.zarr_id == z.zarr_id, Asset.published.is_(False), Version.version == DRAFT)
    ).all()
    zr = record(z)
    for asset, draft in rows:
        resize_in_tree(s, version_id=draft.id, path=asset.path, size=z.size)
        errors = asset_errors(ctx, _View(asset, zr))
        asset.status = AssetStatus.INVALID if errors else AssetStatus.VALID
        asset.validation_errors = errors
        if draft.status != VersionStatus.PUBLISHING:  # a publish holds no Pending assets
            mark_draft_changed(ctx, s, draft)


class _View:
    """An asset row seen with the Zarr record just written."""

    def __init__(self, asset: Asset, zarr: ZarrRecord) -> None:
        self.asset_id, self.path, self.metadata_ = asset.asset_id, asset.path, asset.metadata_
        self.blob = None
        self.zarr = zarr
        # Validated as it would be published, and a published asset is open.
        self.embargoed = False
        self.embargoed_until: date | None = None


def reconcile(ctx: Context) -> int:
    """Queue the ingest of Zarrs left Uploaded or Ingesting with no job (a database
    restored from before the job, or a job given up on); returns how many."""
    queued = 0
    with ctx.db.write() as s:
        stuck = s.scalars(
            sa.select(ZarrArchive.zarr_id).where(
                ZarrArchive.status.in_([ZarrStatus.UPLOADED, ZarrStatus.INGESTING]),
                ZarrArchive.snapshot_of.is_(None),
            )
        ).all()
        for zarr_id in stuck:
            if not ctx.jobs.is_queued(s, ingest_key(zarr_id)):
                ctx.jobs.enqueue(s, INGEST_JOB, {"zarr_id": zarr_id}, dedup_key=ingest_key(zarr_id))
                queued += 1
    return queued
