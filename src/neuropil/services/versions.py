"""Versions of a dandiset: the draft and (later) immutable published versions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from neuropil.core.ids import DRAFT, is_version_name
from neuropil.db.models import Dandiset, User, Version, VersionStatus
from neuropil.db.types import utcnow
from neuropil.errors import BadRequest, MethodNotAllowed, NotFound
from neuropil.services import auth
from neuropil.services.context import Context
from neuropil.services.dandisets import (
    MAX_NAME,
    DandisetInfo,
    VersionStats,
    get_dandiset_row,
    load_infos,
    version_stats,
)
from neuropil.services.metadata import strip_version_metadata


@dataclass
class VersionView:
    info: DandisetInfo
    version: Version
    stats: VersionStats


def get_version_row(s: Session, dandiset: Dandiset, version: str, *, lock: bool = False) -> Version:
    if not is_version_name(version):
        raise NotFound(f"No version {version!r}: versions are 'draft' or '0.YYMMDD.HHMM'.")
    q = sa.select(Version).where(Version.dandiset_id == dandiset.id, Version.version == version)
    if lock:
        q = q.with_for_update()
    row = s.scalar(q)
    if row is None:
        raise NotFound("Not found.")
    return row


def get_version(ctx: Context, *, user: User | None, identifier: str, version: str) -> VersionView:
    with ctx.db.read() as s:
        dandiset = get_dandiset_row(s, identifier)
        auth.require_visible(user, dandiset)
        row = get_version_row(s, dandiset, version)
        info = load_infos(s, [dandiset])[0]
        stats = version_stats(s, [row.id]).get(row.id, VersionStats())
        return VersionView(info, row, stats)


def list_versions(
    ctx: Context,
    *,
    user: User | None,
    identifier: str,
    order: str | None,
    offset: int,
    limit: int,
) -> tuple[int, DandisetInfo, list[tuple[Version, VersionStats]]]:
    if order not in (None, "", "created", "-created", "modified", "-modified"):
        raise BadRequest(f"Unknown order {order!r}; use created, modified, -created or -modified.")
    with ctx.db.read() as s:
        dandiset = get_dandiset_row(s, identifier)
        auth.require_visible(user, dandiset)
        info = load_infos(s, [dandiset])[0]
        col = Version.modified if order and order.endswith("modified") else Version.created
        q = sa.select(Version).where(Version.dandiset_id == dandiset.id)
        total = s.scalar(sa.select(sa.func.count()).select_from(q.subquery())) or 0
        ordered = col.desc() if order and order.startswith("-") else col.asc()
        rows = list(s.scalars(q.order_by(ordered, Version.id).offset(offset).limit(limit)))
        stats = version_stats(s, [v.id for v in rows])
        return total, info, [(v, stats.get(v.id, VersionStats())) for v in rows]


def mark_draft_changed(s: Session, draft: Version) -> None:
    """Any change to a draft sends it back to Pending (validation runs again)."""
    now = utcnow()
    draft.status = VersionStatus.PENDING
    draft.modified = now
    s.execute(sa.update(Dandiset).where(Dandiset.id == draft.dandiset_id).values(modified=now))


def update_draft_metadata(
    ctx: Context,
    *,
    user: User | None,
    identifier: str,
    version: str,
    name: object,
    metadata: object,
) -> VersionView:
    if not isinstance(metadata, dict):
        raise BadRequest("'metadata' must be a JSON object.")
    if name is None:
        name = metadata.get("name")
    if not isinstance(name, str) or not name.strip():
        raise BadRequest("A version needs a non-empty 'name'.")
    if len(name) > MAX_NAME:
        raise BadRequest(f"The name is {len(name)} characters long; the maximum is {MAX_NAME}.")
    with ctx.db.write() as s:
        dandiset = get_dandiset_row(s, identifier, lock=True)
        auth.require_visible(user, dandiset)
        row = get_version_row(s, dandiset, version, lock=True)
        auth.require_owner(user, dandiset)
        if row.version != DRAFT:
            raise MethodNotAllowed("Only draft versions can be modified.")
        new_md: dict[str, Any] = strip_version_metadata(metadata)
        if new_md != row.metadata_ or name.strip() != row.name:
            row.metadata_ = new_md
            row.name = name.strip()
            mark_draft_changed(s, row)
        s.flush()
        info = load_infos(s, [dandiset])[0]
        stats = version_stats(s, [row.id]).get(row.id, VersionStats())
        return VersionView(info, row, stats)
