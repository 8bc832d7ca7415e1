"""Where the bytes of Zarr archives live in the one blob store.

- ``zarr/<zarr_id>/<key>``: the files of a live Zarr (DANDI's layout; a listing of this
  prefix *is* the Zarr).
- ``zarr-snapshots/<zarr_id>/<md5[:2]>/<md5>-<size>``: content-addressed copies that
  published snapshots of the live Zarr ``<zarr_id>`` read. One object per distinct content,
  shared by every snapshot of that Zarr, so publishing again copies only what changed.
"""

from __future__ import annotations

LIVE_ROOT = "zarr/"
SNAPSHOT_ROOT = "zarr-snapshots/"


def live_prefix(zarr_id: str) -> str:
    return f"{LIVE_ROOT}{zarr_id}/"


def live_key(zarr_id: str, key: str) -> str:
    return f"{LIVE_ROOT}{zarr_id}/{key}"


def snapshot_object_key(source_zarr_id: str, md5: str, size: int) -> str:
    return f"{SNAPSHOT_ROOT}{source_zarr_id}/{md5[:2]}/{md5}-{size}"


def parse_snapshot_object_key(key: str) -> tuple[str, int] | None:
    """``(md5, size)`` of a :func:`snapshot_object_key`, or ``None`` for another key."""
    md5, _, size = key.rsplit("/", 1)[-1].partition("-")
    if len(md5) != 32 or not size.isdigit():
        return None
    return md5, int(size)
