"""Read models for the web pages: a folder of the file browser, archive statistics.

The API's ``/assets/paths/`` answers with aggregates only; a file browser also wants each
file's date, so :func:`folder` reads the folder tree (``asset_paths``) joined to the assets
of the page in one query. Both reads use indexed columns only (the root row of each draft
holds its totals), so they stay fast at a million assets.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from neuropil.core.ids import DRAFT
from neuropil.core.paths import normalize_path
from neuropil.db.models import (
    Asset,
    AssetPath,
    Dandiset,
    User,
    UserStatus,
    Version,
)
from neuropil.errors import NotFound
from neuropil.services import visibility
from neuropil.services.content import downloadable_row
from neuropil.services.context import Context
from neuropil.services.dandisets import get_dandiset_row
from neuropil.services.versions import get_version_row


@dataclass(frozen=True)
class FolderEntry:
    """A child of a folder: a folder (aggregates) or a file (its asset)."""

    path: str
    files: int
    size: int
    asset_id: str | None
    modified: datetime | None
    #: Whether the file downloads as one object (a Zarr archive does not).
    downloadable: bool = False

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    @property
    def is_folder(self) -> bool:
        return self.asset_id is None


@dataclass(frozen=True)
class Folder:
    path: str
    files: int
    size: int
    total: int
    entries: list[FolderEntry]


def folder(
    ctx: Context,
    *,
    user: User | None,
    identifier: str,
    version: str,
    path: str,
    offset: int = 0,
    limit: int = 100,
) -> Folder:
    """One page of a folder's children, folders first, then files, each by name."""
    location = normalize_path(path.strip("/"))
    with ctx.db.read() as s:
        dandiset = get_dandiset_row(s, identifier)
        visibility.require_readable(s, user, dandiset)
        ver = get_version_row(s, dandiset, version)
        node = s.execute(
            sa.select(
                AssetPath.asset_id, AssetPath.aggregate_files, AssetPath.aggregate_size
            ).where(AssetPath.version_id == ver.id, AssetPath.path == location)
        ).first()
        if node is None or node.asset_id is not None:
            raise NotFound(f"No folder {location or '/'!r} in version {version}.")
        children = sa.and_(AssetPath.version_id == ver.id, AssetPath.parent == location)
        total = s.scalar(sa.select(sa.func.count()).select_from(AssetPath).where(children)) or 0
        rows = s.execute(
            sa.select(
                AssetPath.path,
                AssetPath.aggregate_files,
                AssetPath.aggregate_size,
                Asset.asset_id,
                Asset.modified,
                Asset.zarr_id,
            )
            .outerjoin(Asset, Asset.id == AssetPath.asset_id)
            .where(children)
            .order_by(AssetPath.asset_id.is_not(None), AssetPath.path)
            .offset(offset)
            .limit(limit)
        ).all()
    entries = [
        FolderEntry(r[0], r[1], r[2], r[3], r[4], r[3] is not None and downloadable_row(r[5]))
        for r in rows
    ]
    return Folder(location, node.aggregate_files, node.aggregate_size, total, entries)


def is_file(ctx: Context, *, user: User | None, identifier: str, version: str, path: str) -> bool:
    """Whether ``path`` names a file (not a folder) in that version."""
    with ctx.db.read() as s:
        dandiset = get_dandiset_row(s, identifier)
        visibility.require_readable(s, user, dandiset)
        ver = get_version_row(s, dandiset, version)
        found = s.scalar(
            sa.select(AssetPath.asset_id).where(
                AssetPath.version_id == ver.id, AssetPath.path == normalize_path(path.strip("/"))
            )
        )
    return found is not None


@dataclass(frozen=True)
class ArchiveStats:
    dandisets: int
    published: int
    files: int
    size: int
    users: int


def archive_stats(ctx: Context) -> ArchiveStats:
    """Counts for the home page: dandisets anyone can read, those with a published version,
    the files and bytes of their drafts, approved users."""
    with ctx.db.read() as s:
        open_ids = sa.select(Dandiset.id).where(visibility.readable(None))
        dandisets = s.scalar(sa.select(sa.func.count()).select_from(open_ids.subquery())) or 0
        published = (
            s.scalar(
                sa.select(sa.func.count(sa.distinct(Version.dandiset_id))).where(
                    Version.version != DRAFT, Version.dandiset_id.in_(open_ids)
                )
            )
            or 0
        )
        files, size = s.execute(
            sa.select(
                sa.func.coalesce(sa.func.sum(AssetPath.aggregate_files), 0),
                sa.func.coalesce(sa.func.sum(AssetPath.aggregate_size), 0),
            )
            .join(Version, Version.id == AssetPath.version_id)
            .where(
                AssetPath.path == "", Version.version == DRAFT, Version.dandiset_id.in_(open_ids)
            )
        ).one()
        users = (
            s.scalar(
                sa.select(sa.func.count(User.id)).where(
                    sa.or_(User.status == UserStatus.APPROVED, User.is_admin)
                )
            )
            or 0
        )
    return ArchiveStats(dandisets, published, int(files), int(size), users)
