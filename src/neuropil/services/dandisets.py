"""Dandisets: create, read, list, delete."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from neuropil.core.ids import DRAFT, format_dandiset_id, parse_dandiset_id
from neuropil.db.engine import Reader
from neuropil.db.models import (
    AssetPath,
    Dandiset,
    EmbargoStatus,
    Upload,
    User,
    Version,
    VersionStatus,
    dandiset_owners,
)
from neuropil.errors import BadRequest, NotFound, PermissionDenied
from neuropil.services import auth, records, visibility
from neuropil.services.context import Context
from neuropil.services.embargo import EmbargoTerms, require_settled
from neuropil.services.metadata import default_contributor, strip_version_metadata
from neuropil.services.metadata_limits import check_metadata
from neuropil.services.search import SearchEngine, search_conditions
from neuropil.services.validity import request_version_validation

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

    @property
    def head(self) -> DandisetHead:
        latest = self.published or self.draft
        return DandisetHead(self.dandiset, latest.metadata_, self.active_uploads)


@dataclass(frozen=True)
class DandisetHead:
    """What a version's representation says of its dandiset: the dandiset (owners loaded),
    the metadata of its newest published version, or of its draft if it has none (the
    contact person comes from it), and the draft's active uploads."""

    dandiset: Dandiset
    head_metadata: dict[str, Any]
    active_uploads: int


def version_stats(s: Session, version_ids: list[int]) -> dict[int, VersionStats]:
    if not version_ids:
        return {}
    return {
        v: VersionStats(n, size) for v, (n, size) in records.version_totals(s, version_ids).items()
    }


def load_infos(s: Reader, dandisets: list[Dandiset]) -> list[DandisetInfo]:
    """Drafts, newest published versions, their totals and the active uploads, in one
    prebuilt statement (:mod:`.records`); the versions are detached rows."""
    if not dandisets:
        return []
    ids = [d.id for d in dandisets]
    drafts: dict[int, Version] = {}
    published: dict[int, Version] = {}
    stats: dict[int, VersionStats] = {}
    uploads: dict[int, int] = {}
    for head in records.head_versions(s, ids):
        v = head.version
        (drafts if v.version == DRAFT else published)[v.dandiset_id] = v
        if head.totals is not None:
            stats[v.id] = VersionStats(*head.totals)
        uploads[v.dandiset_id] = head.uploads
    return [
        DandisetInfo(d, drafts[d.id], published.get(d.id), stats, uploads.get(d.id, 0))
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


def read_dandiset(s: Session, identifier: str) -> Dandiset:
    """:func:`get_dandiset_row` for reads: a detached row (:mod:`.records`), owners loaded."""
    found = records.dandisets(s, [parse_dandiset_id(identifier)])
    if not found:
        raise NotFound("Not found.")
    return next(iter(found.values()))


def get_dandiset(ctx: Context, *, user: User | None, identifier: str) -> DandisetInfo:
    with ctx.db.read() as s:
        dandiset = read_dandiset(s, identifier)
        visibility.require_readable(s, user, dandiset)
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
    ctx: Context,
    *,
    user: User | None,
    name: object,
    metadata: object,
    embargo: EmbargoTerms | None = None,
) -> DandisetInfo:
    """Create a dandiset with an empty draft; the creator becomes its owner. With
    ``embargo`` (see :func:`neuropil.services.embargo.parse_terms`) it is embargoed until
    the terms' end date, and the funder is added to its contributors."""
    user = auth.require_approved(user)
    if not isinstance(name, str) or not name.strip():
        raise BadRequest("A dandiset needs a non-empty 'name'.")
    if len(name) > MAX_NAME:
        raise BadRequest(f"The name is {len(name)} characters long; the maximum is {MAX_NAME}.")
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, dict):
        raise BadRequest("'metadata' must be a JSON object.")
    check_metadata(metadata)
    requested = _requested_identifier(metadata, user)
    md = strip_version_metadata(metadata)
    if not md.get("contributor"):
        md["contributor"] = [default_contributor(user)]
    funder = embargo.funder() if embargo is not None else None
    if funder is not None and isinstance(md["contributor"], list):
        md["contributor"].append(funder)
    with ctx.db.write() as s:
        if requested is not None:
            if s.get(Dandiset, requested) is not None:
                raise BadRequest(f"Dandiset {format_dandiset_id(requested)} already exists.")
            dandiset = Dandiset(id=requested)
        else:
            dandiset = Dandiset()
        if embargo is not None:
            dandiset.embargo_status = EmbargoStatus.EMBARGOED
            dandiset.embargo_end_date = embargo.end_date
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
# The listing's tables: Core, so its statements run without the ORM's execution layer.
_DANDISETS = cast(sa.Table, Dandiset.__table__)
_VERSIONS = cast(sa.Table, Version.__table__)
_DRAFT = _VERSIONS.alias("draft_v")
_ROOT = cast(sa.Table, AssetPath.__table__).alias("root")


def _listing_query(
    rule: str, draft: bool, empty: bool, mine: bool, conditions: Sequence[Any] = ()
) -> sa.Select[Any]:
    """The dandisets a listing selects (before order and page): visible by ``rule``
    (:func:`visibility.listed_condition`), with DANDI's filters and a search's
    ``conditions``."""
    d, draft_v, root = _DANDISETS.c, _DRAFT.c, _ROOT.c
    q = (
        sa.select(*records.DANDISET_COLUMNS)
        .select_from(
            _DANDISETS.join(
                _DRAFT, sa.and_(draft_v.dandiset_id == d.id, draft_v.version == DRAFT)
            ).outerjoin(_ROOT, sa.and_(root.version_id == draft_v.id, root.path == ""))
        )
        .where(visibility.listed_condition(rule), *conditions)
    )
    if not draft:
        v = _VERSIONS.c
        q = q.where(sa.select(v.id).where(v.dandiset_id == d.id, v.version != DRAFT).exists())
    if not empty:
        q = q.where(sa.func.coalesce(root.aggregate_files, 0) > 0)
    if mine:
        o = dandiset_owners.c
        q = q.where(
            sa.select(o.user_id)
            .where(o.dandiset_id == d.id, o.user_id == sa.bindparam("viewer_id"))
            .exists()
        )
    return q


def _listing_statements(q: sa.Select[Any], key: str, desc: bool) -> tuple[Any, Any]:
    """The page of ``q`` with the total in each row (``offset`` and ``limit`` bound), and
    its count alone (for a page past the end)."""
    d, draft_v, root = _DANDISETS.c, _DRAFT.c, _ROOT.c
    col: Any = {
        "id": d.id,
        "name": draft_v.name,
        "modified": d.modified,
        "created": d.created,
        "size": sa.func.coalesce(root.aggregate_size, 0),
        "stars": sa.literal(0),  # stars are not kept yet: every dandiset has 0
    }[key]
    page = (
        q.add_columns(sa.func.count().over())
        .order_by(col.desc() if desc else col.asc(), d.id)
        .offset(sa.bindparam("offset"))
        .limit(sa.bindparam("limit"))
    )
    return page, sa.select(sa.func.count()).select_from(q.subquery())


@functools.cache  # one entry per shape: at most 3 x 2 x 2 x 2 x 6 x 2
def _listing(
    rule: str, draft: bool, empty: bool, mine: bool, key: str, desc: bool
) -> tuple[Any, Any]:
    """The statements of one shape of listing without a search, built once: building them
    per request cost more CPU than the rest of the listing together. The values are bound
    parameters (the rule's ``viewer_id`` and ``now``, ``offset``, ``limit``)."""
    return _listing_statements(_listing_query(rule, draft, empty, mine), key, desc)


def list_dandisets(
    ctx: Context,
    *,
    user: User | None,
    draft: bool = True,
    empty: bool = True,
    embargoed: bool = False,
    mine: bool = False,
    search: str | None = None,
    ordering: str | None = None,
    offset: int = 0,
    limit: int = 100,
) -> tuple[int, list[DandisetInfo]]:
    """Dandisets visible to ``user`` with DANDI's filters; returns (total, page).

    Embargoed dandisets are listed only with ``embargoed`` (which needs a signed-in caller)
    or ``mine``, and only those the caller may read (:func:`visibility.listed`)."""
    if mine or embargoed:
        auth.require_user(user)
    rule = visibility.listed(user, embargoed=embargoed, mine=mine)
    engine: SearchEngine | None = None
    if search:
        # The search engine (SQLite FTS5 / PostgreSQL tsvector) with DANDI's operators; the
        # order stays DANDI's (``ordering``, default ``created``), not relevance.
        engine, conditions = search_conditions(ctx.db, search)
    key = (ordering or "created").lstrip("-")
    if key not in ORDERINGS:
        raise BadRequest(
            f"Unknown ordering {ordering!r}; use one of {sorted(ORDERINGS)} with optional '-'."
        )
    desc = (ordering or "").startswith("-")
    if engine is None:
        page_q, count_q = _listing(rule.kind, draft, empty, mine, key, desc)
    else:  # a search's conditions differ with its text: built for this request
        q = _listing_query(rule.kind, draft, empty, mine, conditions)
        page_q, count_q = _listing_statements(q, key, desc)
    params = {**rule.params, "offset": offset, "limit": limit}
    # A search's settings (``SearchEngine.prepare``) hold for a transaction: its read has
    # one even where reads otherwise run outside transactions.
    with ctx.db.rows(transaction=engine is not None) as s:
        if engine is not None:
            engine.prepare(s)
        # The page and the total in one statement: the filters (a search above all) are
        # evaluated once. Only a page past the end needs the count on its own.
        page = s.execute(page_q, params).all()
        total = int(page[0][-1]) if page else s.scalar(count_q, rule.params) or 0
        found = [records.dandiset(row[:-1]) for row in page]  # detached rows (.records)
        records.with_owners(s, found)
        return total, load_infos(s, found)


def delete_dandiset(ctx: Context, *, user: User | None, identifier: str) -> None:
    with ctx.db.write() as s:
        dandiset = get_dandiset_row(s, identifier, lock=True)
        auth.require_owner(user, dandiset)
        require_settled(dandiset)
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
