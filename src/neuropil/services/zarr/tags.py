"""The files of an embargoed dandiset's Zarrs in the bucket: tagged at ingest, untagged when
the embargo ends (with a store that tags, :mod:`neuropil.services.embargo_tags`).

Clients PUT Zarr files straight to the bucket (presigned URLs the official client uses
unchanged, which cannot ask it for a tag), and a PUT replaces an object's tags with none, so
the archive tags what it lists: the ingest that every change of a Zarr ends with tags each
file while it computes the checksum (:func:`tagging`). A file PUT after the last ingest
is untagged until the next one (``docs/design/embargo.md``).

The unembargo job untags every file of the dandiset's live Zarrs (:func:`release`), after
waiting for running ingests (:func:`require_ingested`): no ingest starts while the dandiset
is ``UNEMBARGOING`` (finalize is refused) and none tags then, so nothing is tagged behind the
release. Snapshots belong to published versions, which only open dandisets have.
"""

from __future__ import annotations

from collections.abc import Iterator

import sqlalchemy as sa

from neuropil.db.models import Dandiset, EmbargoStatus, ZarrArchive, ZarrStatus
from neuropil.services import embargo_tags
from neuropil.services.context import Context
from neuropil.services.zarr import layout
from neuropil.services.zarr.listing import ListedFile


def _dandiset_embargoed(ctx: Context, z: ZarrArchive) -> bool:
    with ctx.db.read() as s:
        status = s.scalar(sa.select(Dandiset.embargo_status).where(Dandiset.id == z.dandiset_id))
    return status == EmbargoStatus.EMBARGOED


def tagging(ctx: Context, z: ZarrArchive, files: Iterator[ListedFile]) -> Iterator[ListedFile]:
    """``files`` of the live Zarr ``z`` as they are listed, each page of them tagged on the
    way when the Zarr's dandiset is embargoed (read after the ingest marked the Zarr
    ``Ingesting``, which the unembargo job waits for)."""
    if z.snapshot_of is not None or not embargo_tags.applies(ctx):
        return files
    if not _dandiset_embargoed(ctx, z):
        return files
    return _tagged(ctx, files)


def _tagged(ctx: Context, files: Iterator[ListedFile]) -> Iterator[ListedFile]:
    page: list[str] = []
    for f in files:
        page.append(f.object_key)
        if len(page) == embargo_tags.BATCH:
            ctx.store.set_embargoed(page, embargoed=True)
            page = []
        yield f
    if page:
        ctx.store.set_embargoed(page, embargoed=True)


def require_ingested(ctx: Context, dandiset_id: int) -> None:
    """Raise (the job is retried) while a live Zarr of the dandiset waits for, or is in, its
    ingest, which may tag files still (with a store that tags; others need not wait)."""
    if not embargo_tags.applies(ctx):
        return
    with ctx.db.read() as s:
        busy = s.scalar(
            sa.select(ZarrArchive.zarr_id)
            .where(
                ZarrArchive.dandiset_id == dandiset_id,
                ZarrArchive.snapshot_of.is_(None),
                ZarrArchive.status.in_([ZarrStatus.UPLOADED, ZarrStatus.INGESTING]),
            )
            .limit(1)
        )
    if busy is not None:
        raise RuntimeError(
            f"dandiset {dandiset_id:06d}: Zarr {busy} is being ingested; the embargo ends "
            "once it is done"
        )


def release(ctx: Context, dandiset_id: int) -> int:
    """Untag every file of the dandiset's live Zarrs, a page of the listing at a time;
    returns how many. Idempotent: a job killed midway untags them again."""
    if not embargo_tags.applies(ctx):
        return 0
    with ctx.db.read() as s:
        zarr_ids = s.scalars(
            sa.select(ZarrArchive.zarr_id)
            .where(ZarrArchive.dandiset_id == dandiset_id, ZarrArchive.snapshot_of.is_(None))
            .order_by(ZarrArchive.zarr_id)
        ).all()
    untagged = 0
    for zarr_id in zarr_ids:
        keys = (info.key for info in ctx.store.list(layout.live_prefix(zarr_id)))
        for page in embargo_tags.batches(keys):
            ctx.store.set_embargoed(page, embargoed=False)
            untagged += len(page)
    return untagged
