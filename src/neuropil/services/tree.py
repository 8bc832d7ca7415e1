"""The per-version folder tree (``asset_paths``): aggregates and path conflicts."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from neuropil.core.paths import parent_folders
from neuropil.db.models import AssetPath
from neuropil.errors import Conflict


def _parent(path: str) -> str | None:
    if path == "":
        return None
    return path.rsplit("/", 1)[0] if "/" in path else ""


def add_to_tree(s: Session, *, version_id: int, path: str, asset_pk: int, size: int) -> None:
    """Insert a file at ``path`` and add it to every enclosing folder's aggregates.

    Raises :class:`Conflict` when the path is taken by a file or a folder, or when one of
    its folders is a file.
    """
    folders = ["", *parent_folders(path)]
    rows = dict(
        s.execute(
            sa.select(AssetPath.path, AssetPath.asset_id).where(
                AssetPath.version_id == version_id, AssetPath.path.in_([*folders, path])
            )
        ).all()
    )
    if path in rows:
        if rows[path] is not None:
            raise Conflict("An asset with that path already exists.")
        raise Conflict(
            f"Path of new asset {path!r} conflicts with existing assets: {path!r} is a folder."
        )
    files_in_the_way = [f for f in folders if f and rows.get(f) is not None]
    if files_in_the_way:
        raise Conflict(
            f"Path of new asset {path!r} conflicts with existing assets: "
            f"{files_in_the_way[0]!r} is a file."
        )
    existing = [f for f in folders if f in rows]
    if existing:
        s.execute(
            sa.update(AssetPath)
            .where(AssetPath.version_id == version_id, AssetPath.path.in_(existing))
            .values(
                aggregate_files=AssetPath.aggregate_files + 1,
                aggregate_size=AssetPath.aggregate_size + size,
            )
        )
    new_rows = [
        {
            "version_id": version_id,
            "path": f,
            "parent": _parent(f),
            "aggregate_files": 1,
            "aggregate_size": size,
            "asset_id": None,
        }
        for f in folders
        if f not in rows
    ]
    new_rows.append(
        {
            "version_id": version_id,
            "path": path,
            "parent": _parent(path),
            "aggregate_files": 1,
            "aggregate_size": size,
            "asset_id": asset_pk,
        }
    )
    s.execute(sa.insert(AssetPath), new_rows)


def remove_from_tree(s: Session, *, version_id: int, path: str, size: int) -> None:
    folders = ["", *parent_folders(path)]
    s.execute(
        sa.delete(AssetPath).where(AssetPath.version_id == version_id, AssetPath.path == path)
    )
    s.execute(
        sa.update(AssetPath)
        .where(AssetPath.version_id == version_id, AssetPath.path.in_(folders))
        .values(
            aggregate_files=AssetPath.aggregate_files - 1,
            aggregate_size=AssetPath.aggregate_size - size,
        )
    )
    s.execute(
        sa.delete(AssetPath).where(
            AssetPath.version_id == version_id,
            AssetPath.path.in_([f for f in folders if f]),
            AssetPath.aggregate_files <= 0,
        )
    )


def resize_in_tree(s: Session, *, version_id: int, path: str, size: int) -> None:
    """Set the size of the file at ``path`` (a Zarr after an ingest) and move every
    enclosing folder's aggregate by the difference."""
    old = s.scalar(
        sa.select(AssetPath.aggregate_size).where(
            AssetPath.version_id == version_id,
            AssetPath.path == path,
            AssetPath.asset_id.is_not(None),
        )
    )
    if old is None or old == size:
        return
    s.execute(
        sa.update(AssetPath)
        .where(AssetPath.version_id == version_id, AssetPath.path.in_(["", *parent_folders(path)]))
        .values(aggregate_size=AssetPath.aggregate_size + (size - old))
    )
    s.execute(
        sa.update(AssetPath)
        .where(AssetPath.version_id == version_id, AssetPath.path == path)
        .values(aggregate_size=size)
    )
