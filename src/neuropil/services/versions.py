"""Versions of a dandiset: the draft (edited, validated) and immutable published versions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from neuropil.core.ids import DRAFT, is_version_name
from neuropil.db.models import Dandiset, User, Version, VersionStatus
from neuropil.db.types import utcnow
from neuropil.errors import (
    BadRequest,
    Locked,
    MethodNotAllowed,
    NotFound,
    PermissionDenied,
    SchemaErrors,
)
from neuropil.services import auth, schema
from neuropil.services.context import Context
from neuropil.services.dandisets import (
    MAX_NAME,
    DandisetInfo,
    VersionStats,
    get_dandiset_row,
    load_infos,
    version_stats,
)
from neuropil.services.metadata import strip_version_metadata, version_metadata
from neuropil.services.validate import (
    asset_validation_errors,
    request_version_validation,
    validation_urls,
)


@dataclass
class VersionView:
    info: DandisetInfo
    version: Version
    stats: VersionStats
    #: DANDI's ``asset_validation_errors`` (loaded for ``/info/`` only).
    asset_errors: list[dict[str, Any]] = field(default_factory=list)


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


def get_version(
    ctx: Context, *, user: User | None, identifier: str, version: str, with_errors: bool = False
) -> VersionView:
    with ctx.db.read() as s:
        dandiset = get_dandiset_row(s, identifier)
        auth.require_visible(user, dandiset)
        row = get_version_row(s, dandiset, version)
        info = load_infos(s, [dandiset])[0]
        stats = version_stats(s, [row.id]).get(row.id, VersionStats())
        errors = asset_validation_errors(s, row.id) if with_errors else []
        return VersionView(info, row, stats, errors)


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


def require_unlocked(draft: Version) -> None:
    """A draft being published takes no changes until the publish job is done."""
    if draft.status == VersionStatus.PUBLISHING:
        raise Locked("Dandiset is currently being published; try again when it is done.")


def mark_draft_changed(ctx: Context, s: Session, draft: Version) -> None:
    """Any change to a draft sends it back to Pending and queues its validation."""
    now = utcnow()
    draft.status = VersionStatus.PENDING
    draft.modified = now
    s.execute(sa.update(Dandiset).where(Dandiset.id == draft.dandiset_id).values(modified=now))
    request_version_validation(ctx, s, draft.id)


def _refuse_structural_errors(
    ctx: Context, row: Version, dandiset: Dandiset, name: str, md: dict[str, Any]
) -> None:
    """Metadata that is wrong, not merely unfinished, is refused with every bad field."""
    candidate = Version(
        version=row.version,
        name=name,
        metadata_=md,
        assets_summary=row.assets_summary,
        doi=row.doi,
    )
    full = version_metadata(
        candidate, dandiset, validation_urls(ctx), instance_name=ctx.settings.instance_name
    )
    errors = schema.structural_errors(full)
    if errors:
        listed = "; ".join(f"{e['field'] or '(metadata)'}: {e['message']}" for e in errors[:50])
        raise SchemaErrors(
            f"The metadata does not fit the Dandiset schema {schema.SCHEMA_VERSION} "
            f"({len(errors)} error{'s' if len(errors) != 1 else ''}): {listed}",
            [{"field": e["field"], "message": e["message"]} for e in errors],
        )


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
        require_unlocked(row)
        new_md: dict[str, Any] = strip_version_metadata(metadata)
        if new_md != strip_version_metadata(row.metadata_) or name.strip() != row.name:
            _refuse_structural_errors(ctx, row, dandiset, name.strip(), new_md)
            row.metadata_ = new_md
            row.name = name.strip()
            mark_draft_changed(ctx, s, row)
        s.flush()
        info = load_infos(s, [dandiset])[0]
        stats = version_stats(s, [row.id]).get(row.id, VersionStats())
        return VersionView(info, row, stats)


def delete_version(ctx: Context, *, user: User | None, identifier: str, version: str) -> None:
    """A draft is never deleted on its own (403, as DANDI); a published version is
    immutable, so deleting one is refused for everyone (405)."""
    user = auth.require_approved(user)
    with ctx.db.read() as s:
        dandiset = get_dandiset_row(s, identifier)
        auth.require_visible(user, dandiset)
        row = get_version_row(s, dandiset, version)
    if row.version == DRAFT:
        raise PermissionDenied("Cannot delete draft versions; delete the dandiset instead.")
    raise MethodNotAllowed(f"Version {row.version} is published; published versions are immutable.")
