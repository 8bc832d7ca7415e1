"""Garbage collection of Zarr bytes: the files of Zarrs whose row is gone, and snapshot
objects no sealed snapshot names; publishing writes again what it would otherwise reuse
from a failed publish, so the collection never removes bytes a publish relies on."""

from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from neuropil.config import Settings
from neuropil.core.zarr_checksum import ZarrFile, zarr_checksum
from neuropil.db.migrate import upgrade
from neuropil.db.models import ZarrArchive, ZarrSnapshotFile, ZarrStatus
from neuropil.db.types import utcnow
from neuropil.services import auth, gc
from neuropil.services.context import Context, make_context
from neuropil.services.dandisets import create_dandiset, delete_dandiset
from neuropil.services.zarr import archives, layout, snapshots

FILES = {".zgroup": b'{"zarr_format": 2}', "a/0": b"chunk zero", "a/1": b"chunk one"}


@pytest.fixture
def ctx(tmp_path: Path) -> Context:
    ctx = make_context(Settings(data_dir=tmp_path / "data", storage="memory"))
    upgrade(ctx.db)
    return ctx


def _zarr(ctx: Context, name: str) -> tuple[str, str, object]:
    """A dandiset holding a live Zarr with FILES: (dandiset, zarr id, owner)."""
    user, _ = auth.create_user(ctx, username=f"owner-{uuid.uuid4().hex[:6]}")
    ident = create_dandiset(ctx, user=user, name=name, metadata={}).dandiset.identifier
    z = archives.create_zarr(ctx, user=user, body={"name": "x.zarr", "dandiset": ident})
    for key, data in FILES.items():
        ctx.store.put(layout.live_key(z.zarr_id, key), data)
    return ident, z.zarr_id, user


def _ingested(ctx: Context, zarr_id: str) -> ZarrArchive:
    checksum = zarr_checksum(
        ZarrFile(k, hashlib.md5(v).hexdigest(), len(v)) for k, v in FILES.items()
    )
    with ctx.db.write() as s:
        z = s.get(ZarrArchive, zarr_id)
        assert z is not None
        z.status, z.checksum = ZarrStatus.COMPLETE, str(checksum)
        z.file_count, z.size = checksum.count, checksum.size
        s.flush()
        s.expunge(z)
        return z


def _seal(ctx: Context, live: ZarrArchive, files: dict[str, bytes]) -> None:
    """A sealed snapshot of an earlier state of ``live`` naming ``files`` (what a publish
    inserts)."""
    earlier = str(
        zarr_checksum(ZarrFile(k, hashlib.md5(v).hexdigest(), len(v)) for k, v in files.items())
    )
    snapshot_id = str(uuid.uuid4())
    with ctx.db.write() as s:
        s.add(
            ZarrArchive(
                zarr_id=snapshot_id,
                dandiset_id=live.dandiset_id,
                name=live.name,
                status=ZarrStatus.INGESTING,
                checksum=earlier,
                snapshot_of=live.zarr_id,
                created=utcnow(),
                modified=utcnow(),
            )
        )
        s.flush()
        s.execute(
            sa.insert(ZarrSnapshotFile),
            [
                {
                    "zarr_id": snapshot_id,
                    "key": k,
                    "md5": hashlib.md5(v).hexdigest(),
                    "size": len(v),
                }
                for k, v in files.items()
            ],
        )
        s.execute(
            sa.update(ZarrArchive)
            .where(ZarrArchive.zarr_id == snapshot_id)
            .values(status=ZarrStatus.COMPLETE)
        )


def _snapshot_key(zarr_id: str, data: bytes) -> str:
    return layout.snapshot_object_key(zarr_id, hashlib.md5(data).hexdigest(), len(data))


def test_files_of_a_deleted_dandisets_zarr_are_collected_after_the_grace(ctx: Context) -> None:
    gone_ident, gone, user = _zarr(ctx, "deleted")
    _, kept, _ = _zarr(ctx, "kept")
    delete_dandiset(ctx, user=user, identifier=gone_ident)  # its Zarr rows go with it
    assert gc.collect(ctx).zarr_files == 0  # within the grace period
    assert len(list(ctx.store.list(layout.live_prefix(gone)))) == len(FILES)
    report = gc.collect(ctx, grace=timedelta(0))
    assert report.zarr_files == len(FILES)
    assert list(ctx.store.list(layout.live_prefix(gone))) == []
    assert len(list(ctx.store.list(layout.live_prefix(kept)))) == len(FILES)


def test_snapshot_objects_no_sealed_snapshot_names_are_collected(ctx: Context) -> None:
    _, zarr_id, _ = _zarr(ctx, "published")
    live = _ingested(ctx, zarr_id)
    named = {"a/0": FILES["a/0"]}
    _seal(ctx, live, named)
    for data in FILES.values():  # all copied, one named by the sealed snapshot
        ctx.store.put(_snapshot_key(zarr_id, data), data)
    ctx.store.put(f"{layout.SNAPSHOT_ROOT}{zarr_id}/zz/not-a-content", b"junk")
    assert gc.collect(ctx).zarr_snapshot_objects == 0
    report = gc.collect(ctx, grace=timedelta(0))
    assert report.zarr_snapshot_objects == len(FILES)
    left = [o.key for o in ctx.store.list(layout.SNAPSHOT_ROOT)]
    assert left == [_snapshot_key(zarr_id, FILES["a/0"])]
    # The live Zarr's own files are never touched.
    assert len(list(ctx.store.list(layout.live_prefix(zarr_id)))) == len(FILES)


def test_a_publish_writes_again_what_no_sealed_snapshot_names(ctx: Context) -> None:
    _, zarr_id, _ = _zarr(ctx, "republished")
    live = _ingested(ctx, zarr_id)
    left_over = _snapshot_key(zarr_id, FILES["a/1"])  # from a publish that failed
    named = _snapshot_key(zarr_id, FILES["a/0"])
    ctx.store.put(left_over, FILES["a/1"])
    ctx.store.put(named, FILES["a/0"])
    _seal(ctx, live, {"a/0": FILES["a/0"]})
    before = {k: ctx.store.stat(k) for k in (left_over, named)}
    snapshots.pin(ctx, [("asset", live)])
    # The left-over object is fresh again (the collection's grace starts over); the one a
    # sealed snapshot names is shared as it is.
    after_left, after_named = ctx.store.stat(left_over), ctx.store.stat(named)
    assert after_left is not None and before[left_over] is not None
    assert after_left.modified > before[left_over].modified
    assert after_named == before[named]
    assert ctx.store.stat(_snapshot_key(zarr_id, FILES[".zgroup"])) is not None
