"""Embargo in the bucket: the objects of embargoed blobs carry the store's embargo tag.

neuropil decides who reads what (:mod:`neuropil.services.visibility`), but a store that
clients read directly (S3 with a public bucket) would serve an embargoed object to anyone
who learned its key. A store that declares ``capabilities.embargo_tags`` therefore tags the
objects of embargoed content, and the bucket policy refuses tagged objects to anonymous
readers (``docs/deployment.md``). Stores without it need nothing: only neuropil reads them.

A blob's object is tagged exactly when its ``embargoed`` flag is set, and the flag changes
once at most:

- set when the blob is created, by an upload for an embargoed dandiset: the upload is
  created tagged (``create_multipart(embargoed=True)``: S3 gives the tag to the object a
  client completes), and :func:`tag_upload` makes sure before validation registers it (an
  empty file, which S3 does not assemble; an upload begun before tagging was turned on);
- cleared when an open dandiset takes the blob (:func:`queue_release`: the job
  :data:`JOB` untags it once the release has committed), or when the embargo of a dandiset
  holding it ends (:func:`release_held`, in the unembargo job: each batch untagged, then
  released, so a killed job resumes with the blobs still flagged).

So a blob shared with an open dandiset is never tagged: an upload for an embargoed
dandiset whose bytes are an open blob's gets that blob (409, or validation's dedup) and
leaves it alone, and an embargoed blob that an open dandiset takes is released. Objects
are untagged only after the decision that opens them has committed; the other way round,
an open blob whose tag has not yet gone is refused by the bucket for a moment, never the
reverse. The files of Zarrs follow their dandiset instead (:mod:`neuropil.services.zarr.tags`).
See ``docs/design/embargo.md``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator

import sqlalchemy as sa
from sqlalchemy.orm import Session

from neuropil.db.models import Asset, AssetBlob, Version, VersionAsset
from neuropil.db.types import utcnow
from neuropil.services.context import Context

log = logging.getLogger(__name__)

#: Untags a released blob's object (payload ``{"blob_id": ...}``).
JOB = "blob.release"
#: Objects tagged or untagged per store call, and blobs released per transaction.
BATCH = 1000


def applies(ctx: Context) -> bool:
    """Whether this archive's store tags embargoed objects."""
    return ctx.store.capabilities.embargo_tags


def job_key(blob_id: str) -> str:
    return f"{JOB}:{blob_id}"


def batches(keys: Iterable[str], size: int = BATCH) -> Iterator[list[str]]:
    """``keys`` in lists of at most ``size``, for the store's tagging calls."""
    batch: list[str] = []
    for key in keys:
        batch.append(key)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def tag_upload(ctx: Context, key: str) -> None:
    """Tag the object of a finished upload for an embargoed dandiset before it is
    registered as a blob (idempotent: usually the upload made it tagged already)."""
    if applies(ctx):
        ctx.store.set_embargoed([key], embargoed=True)


def queue_release(ctx: Context, s: Session, blob: AssetBlob) -> None:
    """The blob has just been released in ``s``: untag its object once that commits."""
    if applies(ctx):
        ctx.jobs.enqueue(s, JOB, {"blob_id": blob.blob_id}, dedup_key=job_key(blob.blob_id))


def release_blob(ctx: Context, blob_id: str) -> None:
    """The job: untag the object of a released blob (a blob still embargoed keeps it)."""
    with ctx.db.read() as s:
        blob = s.get(AssetBlob, blob_id)
    if blob is None or blob.embargoed or not applies(ctx):
        return
    ctx.store.set_embargoed([blob.key], embargoed=False)


def held_blobs(dandiset_id: int) -> sa.Select[str | None]:
    """The ids of the blobs that assets of any version of the dandiset hold."""
    return (
        sa.select(Asset.blob_id)
        .join(VersionAsset, VersionAsset.asset_id == Asset.id)
        .join(Version, Version.id == VersionAsset.version_id)
        .where(Version.dandiset_id == dandiset_id, Asset.blob_id.is_not(None))
    )


def release_held(ctx: Context, dandiset_id: int) -> int:
    """Release the embargoed blobs the dandiset holds, a batch at a time: untag the batch's
    objects, then clear their flags in one transaction. Returns how many were released.

    Resumable: a job killed midway finds the blobs it had not released still flagged, and an
    object untagged twice is no harm. Nothing to do on a store without tags (the unembargo
    transaction releases the blobs there)."""
    if not applies(ctx):
        return 0
    released = 0
    while True:
        with ctx.db.read() as s:
            rows = s.execute(
                sa.select(AssetBlob.blob_id, AssetBlob.key)
                .where(
                    AssetBlob.blob_id.in_(held_blobs(dandiset_id)), AssetBlob.embargoed.is_(True)
                )
                .order_by(AssetBlob.blob_id)
                .limit(BATCH)
            ).all()
        if not rows:
            return released
        ctx.store.set_embargoed([key for _, key in rows], embargoed=False)
        with ctx.db.write() as s:
            s.execute(
                sa.update(AssetBlob)
                .where(AssetBlob.blob_id.in_([blob_id for blob_id, _ in rows]))
                .values(embargoed=False, modified=utcnow())
            )
        released += len(rows)
        log.info("dandiset %06d: %d blob(s) untagged and released", dandiset_id, released)
