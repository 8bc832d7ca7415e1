"""Publishing Zarr assets: each is pinned to an immutable snapshot of its Zarr.

DANDI refuses to publish dandisets with Zarrs, because a Zarr changes in place. Here a
published version never serves the live Zarr: publishing takes a snapshot, a Zarr row of
its own (``snapshot_of`` = the live Zarr) whose files are rows (key -> md5, size) and whose
bytes are content-addressed objects ``zarr-snapshots/<live id>/<md5>-<size>`` shared by
every snapshot of that Zarr. The published version holds a new asset pointing to the
snapshot; the draft keeps its asset and its live Zarr.

Publishing is in two steps, as the publish job is:

1. :func:`pin` (outside any transaction): for each Zarr, reuse the snapshot of its current
   checksum if one exists; otherwise list it, check the listing still has the ingested
   checksum, and copy each content no sealed snapshot names yet, verifying its md5 on the
   way. Copies are idempotent (same content, same key), so a crash only costs redoing them.
   An object that is there but that no sealed snapshot names (a failed publish left it) is
   written again, so garbage collection, which removes such objects once they are older
   than its grace period, never removes one this publish relies on
   (:mod:`neuropil.services.zarr.garbage`).
2. :func:`link` (in the publish transaction): insert the new snapshots and seal them
   (``Complete``; the triggers of migration 0006 refuse any change after that), insert the
   published assets, and point the new version's members and folder tree at them.

See docs/design/zarr.md.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from neuropil.core.zarr_checksum import zarr_checksum
from neuropil.db.models import (
    Asset,
    AssetBlob,
    AssetPath,
    AssetStatus,
    VersionAsset,
    ZarrArchive,
    ZarrSnapshotFile,
    ZarrStatus,
)
from neuropil.db.types import utcnow
from neuropil.errors import BadRequest
from neuropil.services.content import ZarrRecord
from neuropil.services.context import Context
from neuropil.services.validity import AssetView
from neuropil.services.zarr import garbage, layout, listing
from neuropil.services.zarr.archives import record

#: Snapshot file rows inserted per statement.
INSERT_BATCH = 1000


class ZarrChanged(BadRequest):
    """A Zarr no longer holds what was ingested: the draft must be validated again."""


@dataclass(frozen=True)
class _Snapshot:
    record: ZarrRecord
    #: The files to insert, when the snapshot is new; ``None`` when it exists already.
    files: tuple[listing.ListedFile, ...] | None


@dataclass
class Pins:
    """What publishing makes of each Zarr asset of the draft (by the draft asset's id)."""

    assets: dict[str, tuple[str, _Snapshot]] = field(default_factory=dict)

    def view(
        self,
        asset_id: str,
        path: str,
        metadata: dict[str, Any],
        blob: AssetBlob | None,
    ) -> AssetView:
        """The asset as the published version will hold it (for manifests)."""
        pinned = self.assets.get(asset_id)
        if pinned is None:
            return AssetView(asset_id, path, metadata, blob)
        new_id, snapshot = pinned
        return AssetView(new_id, path, metadata, None, snapshot.record)


def _verified(chunks: Iterable[bytes], md5: str, key: str) -> Iterator[bytes]:
    h = hashlib.md5()
    for chunk in chunks:
        h.update(chunk)
        yield chunk
    if h.hexdigest() != md5:
        raise ZarrChanged(f"The Zarr file {key!r} changed while the dandiset was published.")


def _store(ctx: Context, source: str, f: listing.ListedFile) -> None:
    target = layout.snapshot_object_key(source, f.md5, f.size)
    try:
        ctx.store.put_chunks(target, _verified(ctx.store.read(f.object_key), f.md5, f.key))
    except KeyError as exc:
        raise ZarrChanged(f"The Zarr file {f.key!r} was deleted while publishing.") from exc


def _snapshot_of(ctx: Context, z: ZarrArchive) -> _Snapshot:
    if z.status != ZarrStatus.COMPLETE or z.checksum is None:
        raise ZarrChanged(f"The Zarr archive {z.name!r} is not ingested; finalize it first.")
    with ctx.db.read() as s:
        existing = s.scalar(
            sa.select(ZarrArchive).where(
                ZarrArchive.snapshot_of == z.zarr_id,
                ZarrArchive.checksum == z.checksum,
                ZarrArchive.status == ZarrStatus.COMPLETE,
            )
        )
    if existing is not None:
        return _Snapshot(record(existing), None)
    files = tuple(listing.iter_files(ctx, z))
    if str(zarr_checksum(f.as_zarr_file() for f in files)) != z.checksum:
        raise ZarrChanged(f"The Zarr archive {z.name!r} changed after it was ingested.")
    sealed = garbage.sealed_contents(ctx, z.zarr_id)
    for f in files:
        if (f.md5, f.size) not in sealed:  # otherwise stored for an earlier snapshot: shared
            _store(ctx, z.zarr_id, f)
    rec = ZarrRecord(
        zarr_id=str(uuid.uuid4()),
        name=z.name,
        dandiset=f"{z.dandiset_id:06d}",
        status=ZarrStatus.COMPLETE.value,
        checksum=z.checksum,
        file_count=z.file_count,
        size=z.size,
        snapshot_of=z.zarr_id,
    )
    return _Snapshot(rec, files)


def pin(ctx: Context, zarr_assets: Sequence[tuple[str, ZarrArchive]]) -> Pins:
    """Snapshots for ``(draft asset id, live Zarr)`` pairs, bytes stored; no rows yet."""
    pins = Pins()
    by_zarr: dict[str, _Snapshot] = {}
    for asset_id, z in zarr_assets:
        snapshot = by_zarr.get(z.zarr_id) or _snapshot_of(ctx, z)
        by_zarr[z.zarr_id] = snapshot
        pins.assets[asset_id] = (str(uuid.uuid4()), snapshot)
    return pins


def _insert_snapshot(s: Session, snap: _Snapshot) -> None:
    rec = snap.record
    assert snap.files is not None and rec.snapshot_of is not None
    now = utcnow()
    s.add(
        ZarrArchive(
            zarr_id=rec.zarr_id,
            dandiset_id=int(rec.dandiset),
            name=rec.name,
            status=ZarrStatus.INGESTING,
            checksum=rec.checksum,
            file_count=rec.file_count,
            size=rec.size,
            snapshot_of=rec.snapshot_of,
            created=now,
            modified=now,
        )
    )
    s.flush()
    rows = [
        {"zarr_id": rec.zarr_id, "key": f.key, "md5": f.md5, "size": f.size} for f in snap.files
    ]
    for i in range(0, len(rows), INSERT_BATCH):
        s.execute(sa.insert(ZarrSnapshotFile), rows[i : i + INSERT_BATCH])
    # Seals the snapshot: from here on the triggers refuse any change to it.
    s.execute(
        sa.update(ZarrArchive)
        .where(ZarrArchive.zarr_id == rec.zarr_id)
        .values(status=ZarrStatus.COMPLETE)
    )


def link(s: Session, pins: Pins, version_id: int, patch: dict[str, Any]) -> None:
    """In the publish transaction: store new snapshots, and give the new version (still
    ``Publishing``) a published asset on its snapshot in place of each draft Zarr asset."""
    inserted: set[str] = set()
    for draft_asset_id, (new_id, snap) in pins.assets.items():
        if snap.files is not None and snap.record.zarr_id not in inserted:
            _insert_snapshot(s, snap)
            inserted.add(snap.record.zarr_id)
        draft = s.scalar(sa.select(Asset).where(Asset.asset_id == draft_asset_id))
        assert draft is not None
        now = utcnow()
        published = Asset(
            asset_id=new_id,
            path=draft.path,
            zarr_id=snap.record.zarr_id,
            metadata_={**draft.metadata_, **patch},
            status=AssetStatus.VALID,
            validation_errors=[],
            published=True,
            created=now,
            modified=now,
        )
        s.add(published)
        s.flush()
        for table in (VersionAsset, AssetPath):
            s.execute(
                sa.update(table)
                .where(table.version_id == version_id, table.asset_id == draft.id)
                .values(asset_id=published.id)
            )
