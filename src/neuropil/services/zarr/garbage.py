"""Zarr bytes no row reaches, for garbage collection (:mod:`neuropil.services.gc`).

- ``zarr/<zarr_id>/...``: the files of a live Zarr whose row is gone (its dandiset was
  deleted, or the ``zarr.purge`` job of a deleted Zarr never ran).
- ``zarr-snapshots/<zarr_id>/<md5>-<size>``: contents no sealed snapshot of that Zarr names
  (copied by a publish that then failed).

Both only once older than the grace period, like every other orphan object. Publishing
never reuses a snapshot object that no sealed snapshot names: it writes it again
(:func:`neuropil.services.zarr.snapshots.pin`), so an object a publish in flight relies on
is always younger than the grace period, and one a sealed snapshot names is never
collected (snapshot rows cannot be deleted).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import sqlalchemy as sa

from neuropil.db.models import ZarrArchive, ZarrSnapshotFile, ZarrStatus
from neuropil.services.context import Context
from neuropil.services.zarr import layout


def zarr_ids_in_store(ctx: Context, root: str) -> Iterator[str]:
    """The Zarr ids that have objects under ``root`` (``zarr/`` or ``zarr-snapshots/``),
    listing one object per Zarr: the listing restarts past each Zarr's keys."""
    after = ""
    while (first := next(ctx.store.list(root, start_after=after), None)) is not None:
        zarr_id = first.key[len(root) :].split("/", 1)[0]
        yield zarr_id
        after = f"{root}{zarr_id}0"  # '0' sorts after '/': past every ``<root><id>/...``


def sealed_contents(ctx: Context, live_id: str) -> set[tuple[str, int]]:
    """(md5, size) of every file of the sealed snapshots of the live Zarr ``live_id``."""
    with ctx.db.read() as s:
        rows = s.execute(
            sa.select(ZarrSnapshotFile.md5, ZarrSnapshotFile.size)
            .join(ZarrArchive, ZarrArchive.zarr_id == ZarrSnapshotFile.zarr_id)
            .where(
                ZarrArchive.snapshot_of == live_id,
                ZarrArchive.status == ZarrStatus.COMPLETE,
            )
            .distinct()
        ).all()
    return {(md5, size) for md5, size in rows}


def orphan_live_files(ctx: Context, cutoff: datetime) -> int:
    """Delete the files of live Zarrs that have no row, older than ``cutoff``."""
    with ctx.db.read() as s:
        live = set(s.scalars(sa.select(ZarrArchive.zarr_id)))
    removed = 0
    for zarr_id in list(zarr_ids_in_store(ctx, layout.LIVE_ROOT)):
        if zarr_id in live:
            continue
        for obj in list(ctx.store.list(layout.live_prefix(zarr_id))):
            if obj.modified < cutoff:
                ctx.store.delete(obj.key)
                removed += 1
    return removed


def unreferenced_snapshot_objects(ctx: Context, cutoff: datetime) -> int:
    """Delete snapshot objects no sealed snapshot names, older than ``cutoff``."""
    removed = 0
    for live_id in list(zarr_ids_in_store(ctx, layout.SNAPSHOT_ROOT)):
        named = sealed_contents(ctx, live_id)
        for obj in list(ctx.store.list(f"{layout.SNAPSHOT_ROOT}{live_id}/")):
            content = layout.parse_snapshot_object_key(obj.key)
            if content not in named and obj.modified < cutoff:
                ctx.store.delete(obj.key)
                removed += 1
    return removed
