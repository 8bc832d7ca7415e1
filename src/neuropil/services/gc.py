"""Garbage collection: abandoned uploads, orphaned objects and unreferenced blobs, and the
Zarr bytes no row reaches (:mod:`neuropil.services.zarr.garbage`).

Safe to run at any time, from ``neuropil gc`` or periodically in the server: it only
removes what no database row can reach and what is older than a grace period, so work in
flight is never touched.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

import sqlalchemy as sa

from neuropil.db.models import Asset, AssetBlob, Upload, VersionAsset
from neuropil.db.types import utcnow
from neuropil.services import indexes, tables
from neuropil.services.context import Context
from neuropil.services.zarr import garbage as zarr_garbage

log = logging.getLogger(__name__)

#: Objects and multipart uploads with no row are only removed after this long, so an
#: upload between "object created" and "row committed" is never mistaken for garbage.
GRACE = timedelta(hours=1)
#: Blobs no asset uses and assets no version holds are kept this long (DANDI: 7 days).
RETENTION = timedelta(days=7)
#: The periodic collection is a job, so that one process of many runs it
#: (:func:`schedule`, run by :class:`neuropil.server.background.Background`).
JOB = "gc.collect"


@dataclass
class GcReport:
    expired_uploads: int = 0
    orphan_multiparts: int = 0
    orphan_objects: int = 0
    blobs: int = 0
    assets: int = 0
    temporaries: int = 0
    #: Orphan index objects (``indexes/``); those of collected blobs count with the blobs.
    indexes: int = 0
    #: Kept tables of versions that no longer exist (``tables/``).
    tables: int = 0
    #: Files of live Zarrs whose row is gone (``zarr/``).
    zarr_files: int = 0
    #: Snapshot objects no sealed snapshot names (``zarr-snapshots/``).
    zarr_snapshot_objects: int = 0
    jobs: int = 0
    errors: list[str] = field(default_factory=list)

    def total(self) -> int:
        return (
            self.expired_uploads
            + self.orphan_multiparts
            + self.orphan_objects
            + self.blobs
            + self.assets
            + self.temporaries
            + self.indexes
            + self.tables
            + self.zarr_files
            + self.zarr_snapshot_objects
        )


def collect(
    ctx: Context,
    *,
    grace: timedelta = GRACE,
    retention: timedelta = RETENTION,
    upload_expiry: timedelta | None = None,
) -> GcReport:
    report = GcReport()
    now = utcnow()
    expiry = upload_expiry or timedelta(seconds=ctx.settings.upload_expiry)
    _expired_uploads(ctx, report, now - expiry)
    _orphan_assets(ctx, report, now - retention)
    _unreferenced_blobs(ctx, report, now - retention)
    _orphan_storage(ctx, report, now - grace)
    report.tables = tables.collect_orphans(ctx, now - grace)
    report.zarr_files = zarr_garbage.orphan_live_files(ctx, now - grace)
    report.zarr_snapshot_objects = zarr_garbage.unreferenced_snapshot_objects(ctx, now - grace)
    report.temporaries = ctx.store.sweep_temporaries(now - grace)
    report.jobs = ctx.jobs.purge_finished(timedelta(days=7))
    return report


def schedule(ctx: Context, every: float) -> None:
    """Queue the next periodic collection ``every`` seconds from now, unless one is queued.

    Every process that runs jobs calls this now and then; the dedup key keeps one
    collection queued, and ``max_delay`` keeps later calls from pushing it back.
    """
    with ctx.db.write() as s:
        ctx.jobs.enqueue(s, JOB, {}, dedup_key=JOB, delay=every, max_delay=every)


def _expired_uploads(ctx: Context, report: GcReport, cutoff: object) -> None:
    with ctx.db.write() as s:
        uploads = s.scalars(sa.select(Upload).where(Upload.created < cutoff)).all()
        for up in uploads:
            s.delete(up)
    for up in uploads:
        ctx.store.abort_multipart(up.key, up.multipart_id)
        ctx.store.delete(up.key)
        report.expired_uploads += 1


def _orphan_assets(ctx: Context, report: GcReport, cutoff: object) -> None:
    with ctx.db.write() as s:
        held = sa.select(VersionAsset.asset_id).where(VersionAsset.asset_id == Asset.id).exists()
        res = s.execute(
            sa.delete(Asset).where(~held, Asset.modified < cutoff, Asset.published.is_(False))
        )
        report.assets = int(getattr(res, "rowcount", 0) or 0)


def _unreferenced_blobs(ctx: Context, report: GcReport, cutoff: object) -> None:
    with ctx.db.write() as s:
        used = sa.select(Asset.id).where(Asset.blob_id == AssetBlob.blob_id).exists()
        blobs = s.scalars(sa.select(AssetBlob).where(~used, AssetBlob.created < cutoff)).all()
        for b in blobs:
            s.delete(b)
    for b in blobs:  # rows first: a crash here leaves only orphan bytes, collected next time
        ctx.store.delete(b.key)
        indexes.delete_index(ctx.store, b.blob_id)
        report.blobs += 1


def _orphan_storage(ctx: Context, report: GcReport, cutoff: object) -> None:
    with ctx.db.read() as s:
        live_keys = set(s.scalars(sa.select(AssetBlob.key))) | set(s.scalars(sa.select(Upload.key)))
        live_multiparts = set(s.scalars(sa.select(Upload.multipart_id)))
        live_blobs = set(s.scalars(sa.select(AssetBlob.blob_id)))
    for mp in list(ctx.store.list_multipart()):
        if mp.multipart_id not in live_multiparts and mp.initiated < cutoff:  # type: ignore[operator]
            ctx.store.abort_multipart(mp.key, mp.multipart_id)
            report.orphan_multiparts += 1
    for obj in list(ctx.store.list("blobs/")):
        if obj.key not in live_keys and obj.modified < cutoff:  # type: ignore[operator]
            ctx.store.delete(obj.key)
            report.orphan_objects += 1
    # An index job that ran while its blob was collected leaves its objects behind.
    for obj in list(ctx.store.list(indexes.PREFIX)):
        blob_id = indexes.blob_id_of(obj.key)
        if blob_id not in live_blobs and obj.modified < cutoff:  # type: ignore[operator]
            ctx.store.delete(obj.key)
            report.indexes += 1
