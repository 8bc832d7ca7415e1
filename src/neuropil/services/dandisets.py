"""Dandisets: create, read, list, delete."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from neuropil.core.ids import DRAFT, format_dandiset_id, parse_dandiset_id
from neuropil.db.models import (
    AssetPath,
    Dandiset,
    EmbargoStatus,
    Upload,
    User,
    Version,
    VersionStatus,
)
from neuropil.errors import BadRequest, NotFound, PermissionDenied, Unsupported
from neuropil.services import auth
from neuropil.services.context import Context
from neuropil.services.metadata import default_contributor, strip_version_metadata
from neuropil.services.search import SearchEngine, search_conditions
from neuropil.services.validate import request_version_validation

MAX_NAME = 300


@dataclass
class VersionStats:
    asset_count: int = 0
    size: int = 0


@dataclass
class DandisetInfo:
    """A dandiset with what its API representation needs, loaded in one go."""

    dandiset: Dandiset
    draft: Version
    published: Version | None
    stats: dict[int, VersionStats] = field(default_factory=dict)
    active_uploads: int = 0

    def stats_for(self, version: Version) -> VersionStats:
        return self.stats.get(version.id, VersionStats())


def version_stats(s: Session, version_ids: list[int]) -> dict[int, VersionStats]:
    if not version_ids:
        return {}
    rows = s.execute(
        sa.select(AssetPath.version_id, AssetPath.aggregate_files, AssetPath.aggregate_size).where(
            AssetPath.version_id.in_(version_ids), AssetPath.path == ""
        )
    )
    return {vid: VersionStats(n, size) for vid, n, size in rows}


def _latest_published(s: Session, dandiset_ids: list[int]) -> dict[int, Version]:
    if not dandiset_ids:
        return {}
    versions = s.scalars(
        sa.select(Version)
        .where(Version.dandiset_id.in_(dandiset_ids), Version.version != DRAFT)
        .order_by(Version.dandiset_id, Version.created)
    )
    return {v.dandiset_id: v for v in versions}  # the last one wins


def load_infos(s: Session, dandisets: list[Dandiset]) -> list[DandisetInfo]:
    ids = [d.id for d in dandisets]
    drafts = {
        v.dandiset_id: v
        for v in s.scalars(
            sa.select(Version).where(Version.dandiset_id.in_(ids), Version.version == DRAFT)
        )
    }
    published = _latest_published(s, ids)
    uploads = dict(
        s.execute(  # type: ignore[arg-type]
            sa.select(Upload.dandiset_id, sa.func.count(Upload.upload_id))
            .where(Upload.dandiset_id.in_(ids))
            .group_by(Upload.dandiset_id)
        ).all()
    )
    vids = [v.id for v in drafts.values()] + [v.id for v in published.values()]
    stats = version_stats(s, vids)
    return [
        DandisetInfo(d, drafts[d.id], published.get(d.id), stats, int(uploads.get(d.id, 0)))
        for d in dandisets
    ]


def get_dandiset_row(s: Session, identifier: str, *, lock: bool = False) -> Dandiset:
    number = parse_dandiset_id(identifier)
    q = sa.select(Dandiset).where(Dandiset.id == number)
    if lock:
        q = q.with_for_update()
    dandiset = s.scalar(q)
    if dandiset is None:
        raise NotFound("Not found.")
    return dandiset


def get_dandiset(ctx: Context, *, user: User | None, identifier: str) -> DandisetInfo:
    with ctx.db.read() as s:
        dandiset = get_dandiset_row(s, identifier)
        auth.require_visible(user, dandiset)
        return load_infos(s, [dandiset])[0]


def _requested_identifier(metadata: dict[str, Any], user: User) -> int | None:
    ident = metadata.get("identifier")
    if ident in (None, ""):
        return None
    if not user.is_admin:
        raise BadRequest(
            "Creating a dandiset with an explicit identifier is an admin only operation."
        )
    text = str(ident).rsplit(":", 1)[-1]
    if not text.isdigit() or len(text) != 6 or int(text) == 0:
        raise BadRequest(f"Invalid identifier {ident!r}: use six digits, e.g. '000123'.")
    return int(text)


def create_dandiset(
    ctx: Context, *, user: User | None, name: object, metadata: object, embargo: bool = False
) -> DandisetInfo:
    """Create a dandiset with an empty draft; the creator becomes its owner."""
    user = auth.require_approved(user)
    if not isinstance(name, str) or not name.strip():
        raise BadRequest("A dandiset needs a non-empty 'name'.")
    if len(name) > MAX_NAME:
        raise BadRequest(f"The name is {len(name)} characters long; the maximum is {MAX_NAME}.")
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, dict):
        raise BadRequest("'metadata' must be a JSON object.")
    if embargo:
        raise Unsupported("Embargoed dandisets are not supported by this server yet.")
    requested = _requested_identifier(metadata, user)
    md = strip_version_metadata(metadata)
    if not md.get("contributor"):
        md["contributor"] = [default_contributor(user)]
    with ctx.db.write() as s:
        if requested is not None:
            if s.get(Dandiset, requested) is not None:
                raise BadRequest(f"Dandiset {format_dandiset_id(requested)} already exists.")
            dandiset = Dandiset(id=requested)
        else:
            dandiset = Dandiset()
        owner = s.get(User, user.id)
        assert owner is not None
        dandiset.owners = [owner]
        s.add(dandiset)
        s.flush()
        draft = Version(dandiset_id=dandiset.id, version=DRAFT, name=name.strip(), metadata_=md)
        s.add(draft)
        s.flush()
        s.add(AssetPath(version_id=draft.id, path="", parent=None))
        request_version_validation(ctx, s, draft.id)
        s.flush()
        return load_infos(s, [dandiset])[0]


ORDERINGS = {"id", "name", "modified", "created", "size", "stars"}


def list_dandisets(
    ctx: Context,
    *,
    user: User | None,
    draft: bool = True,
    empty: bool = True,
    mine: bool = False,
    search: str | None = None,
    ordering: str | None = None,
    offset: int = 0,
    limit: int = 100,
) -> tuple[int, list[DandisetInfo]]:
    """Dandisets visible to ``user`` with DANDI's filters; returns (total, page)."""
    if mine:
        auth.require_user(user)
    draft_v = sa.orm.aliased(Version)
    root = sa.orm.aliased(AssetPath)
    q = (
        sa.select(Dandiset)
        .join(draft_v, sa.and_(draft_v.dandiset_id == Dandiset.id, draft_v.version == DRAFT))
        .outerjoin(root, sa.and_(root.version_id == draft_v.id, root.path == ""))
        .where(Dandiset.embargo_status == EmbargoStatus.OPEN)
    )
    has_published = (
        sa.select(Version.id)
        .where(Version.dandiset_id == Dandiset.id, Version.version != DRAFT)
        .exists()
    )
    if not draft:
        q = q.where(has_published)
    if not empty:
        q = q.where(sa.func.coalesce(root.aggregate_files, 0) > 0)
    if mine and user is not None:
        from neuropil.db.models import dandiset_owners

        q = q.where(
            sa.select(dandiset_owners.c.user_id)
            .where(
                dandiset_owners.c.dandiset_id == Dandiset.id,
                dandiset_owners.c.user_id == user.id,
            )
            .exists()
        )
    engine: SearchEngine | None = None
    if search:
        # The search engine (SQLite FTS5 / PostgreSQL tsvector) with DANDI's operators; the
        # order stays DANDI's (``ordering``, default ``created``), not relevance.
        engine, conditions = search_conditions(ctx.db, search)
        q = q.where(*conditions)
    key = (ordering or "created").lstrip("-")
    if key not in ORDERINGS:
        raise BadRequest(
            f"Unknown ordering {ordering!r}; use one of {sorted(ORDERINGS)} with optional '-'."
        )
    col: Any = {
        "id": Dandiset.id,
        "name": draft_v.name,
        "modified": Dandiset.modified,
        "created": Dandiset.created,
        "size": sa.func.coalesce(root.aggregate_size, 0),
        "stars": sa.literal(0),  # stars are not kept yet: every dandiset has 0
    }[key]
    order = col.desc() if (ordering or "").startswith("-") else col.asc()
    with ctx.db.read() as s:
        if engine is not None:
            engine.prepare(s)
        # The page and the total in one statement: the filters (a search above all) are
        # evaluated once. Only a page past the end needs the count on its own.
        page = s.execute(
            q.add_columns(sa.func.count().over())
            .order_by(order, Dandiset.id)
            .offset(offset)
            .limit(limit)
        ).all()
        if page:
            total = int(page[0][1])
        else:
            total = s.scalar(sa.select(sa.func.count()).select_from(q.subquery())) or 0
        return total, load_infos(s, [row[0] for row in page])


def delete_dandiset(ctx: Context, *, user: User | None, identifier: str) -> None:
    with ctx.db.write() as s:
        dandiset = get_dandiset_row(s, identifier, lock=True)
        auth.require_owner(user, dandiset)
        published = s.scalar(
            sa.select(sa.func.count(Version.id)).where(
                Version.dandiset_id == dandiset.id, Version.version != DRAFT
            )
        )
        if published:
            # The database agrees: its triggers refuse to delete a published version.
            raise PermissionDenied("Cannot delete dandisets with published versions.")
        draft_status = s.scalar(
            sa.select(Version.status).where(
                Version.dandiset_id == dandiset.id, Version.version == DRAFT
            )
        )
        if draft_status == VersionStatus.PUBLISHING:
            raise PermissionDenied("Cannot delete a dandiset while it is being published.")
        s.execute(sa.delete(Upload).where(Upload.dandiset_id == dandiset.id))
        s.delete(dandiset)
