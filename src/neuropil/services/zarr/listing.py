"""The files of a Zarr, one view over its two forms.

A live Zarr's files are the store's objects under ``zarr/<id>/`` (as on DANDI, where S3's
listing is the truth, so a presigned PUT needs no call back to the archive); a snapshot's
are its ``zarr_snapshot_files`` rows, whose bytes are content-addressed objects.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from neuropil.core.zarr_checksum import ZarrFile
from neuropil.db.models import ZarrArchive, ZarrSnapshotFile
from neuropil.services.context import Context
from neuropil.services.zarr import layout

#: Rows read per query when walking a snapshot.
BATCH = 1000


@dataclass(frozen=True)
class ListedFile:
    """One file of a Zarr: its key, md5, size, time, and the object holding its bytes."""

    key: str
    md5: str
    size: int
    modified: datetime
    object_key: str

    def as_zarr_file(self) -> ZarrFile:
        return ZarrFile(self.key, self.md5, self.size)


def _live(ctx: Context, z: ZarrArchive, prefix: str, after: str) -> Iterator[ListedFile]:
    root = layout.live_prefix(z.zarr_id)
    # The store starts after ``after``: a page of a large Zarr reads only its own files.
    for info in ctx.store.list(root + prefix, start_after=root + after if after else ""):
        key = info.key[len(root) :]
        yield ListedFile(key, info.etag.strip('"'), info.size, info.modified, info.key)


def _snapshot(ctx: Context, z: ZarrArchive, prefix: str, after: str) -> Iterator[ListedFile]:
    assert z.snapshot_of is not None
    source = z.snapshot_of
    last = after
    while True:
        q = sa.select(ZarrSnapshotFile.key, ZarrSnapshotFile.md5, ZarrSnapshotFile.size).where(
            ZarrSnapshotFile.zarr_id == z.zarr_id, ZarrSnapshotFile.key > last
        )
        if prefix:
            # Keys start with the prefix: a range on the primary key's index.
            q = q.where(
                ZarrSnapshotFile.key >= prefix, ZarrSnapshotFile.key < prefix + "\U0010ffff"
            )
        with ctx.db.read() as s:
            rows = s.execute(q.order_by(ZarrSnapshotFile.key).limit(BATCH)).all()
        for key, md5, size in rows:
            yield ListedFile(
                key, md5, size, z.created, layout.snapshot_object_key(source, md5, size)
            )
        if len(rows) < BATCH:
            return
        last = rows[-1][0]


def iter_files(
    ctx: Context, z: ZarrArchive, *, prefix: str = "", after: str = ""
) -> Iterator[ListedFile]:
    """The files whose key starts with ``prefix`` and sorts after ``after``, in key order."""
    if z.snapshot_of is None:
        return _live(ctx, z, prefix, after)
    return _snapshot(ctx, z, prefix, after)


def page(
    ctx: Context, z: ZarrArchive, *, prefix: str, after: str, limit: int
) -> tuple[list[ListedFile], bool]:
    """Up to ``limit`` files and whether more follow."""
    out: list[ListedFile] = []
    for f in iter_files(ctx, z, prefix=prefix, after=after):
        if len(out) == limit:
            return out, True
        out.append(f)
    return out, False


def find(ctx: Context, z: ZarrArchive, key: str) -> ListedFile | None:
    """The file at exactly ``key``, or ``None``."""
    if z.snapshot_of is None:
        info = ctx.store.stat(layout.live_key(z.zarr_id, key))
        if info is None:
            return None
        return ListedFile(key, info.etag.strip('"'), info.size, info.modified, info.key)
    with ctx.db.read() as s:
        row = s.execute(
            sa.select(ZarrSnapshotFile.md5, ZarrSnapshotFile.size).where(
                ZarrSnapshotFile.zarr_id == z.zarr_id, ZarrSnapshotFile.key == key
            )
        ).first()
    if row is None:
        return None
    md5, size = row
    return ListedFile(
        key, md5, size, z.created, layout.snapshot_object_key(z.snapshot_of, md5, size)
    )


def has_folder(ctx: Context, z: ZarrArchive, key: str) -> bool:
    """Whether ``key/`` is a folder of the Zarr (some file lies under it)."""
    return next(iter_files(ctx, z, prefix=key.rstrip("/") + "/"), None) is not None
