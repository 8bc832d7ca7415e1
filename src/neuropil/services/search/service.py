"""``search()``: parse, match, rank, page, and describe the hits (one read transaction)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from neuropil.core.ids import DRAFT
from neuropil.db.engine import Database
from neuropil.db.models import (
    Asset,
    AssetBlob,
    SearchFacetSetValue,
    User,
    Version,
    VersionStatus,
)
from neuropil.errors import BadRequest
from neuropil.services.context import Context
from neuropil.services.search.engine import FACETS, SearchEngine
from neuropil.services.search.postgres_fts import PostgresSearch
from neuropil.services.search.query import Query, parse
from neuropil.services.search.results import AssetHit, DandisetHit, SearchResult
from neuropil.services.search.sqlite_fts import SqliteSearch

MAX_PAGE_SIZE = 100
#: The largest page number (page x page size must fit a 64-bit SQL offset).
MAX_PAGE = 10**9
#: Matching assets listed under each hit.
ASSETS_PER_HIT = 10
#: Values listed per facet.
FACET_VALUES = 20


def engine_for(db: Database) -> SearchEngine:
    return SqliteSearch() if db.is_sqlite else PostgresSearch()


def search_conditions(db: Database, text: str) -> tuple[SearchEngine, list[Any]]:
    """For ``/api/dandisets/?search=``: the engine and the conditions on ``dandisets`` that
    select the dandisets matching ``text`` (visibility left to the caller), to be run in a
    read transaction the engine has prepared (:meth:`SearchEngine.prepare`). The listing
    then counts and pages in one statement, so the match is evaluated once, in the
    database. A bad query raises :class:`BadRequest`."""
    engine = engine_for(db)
    return engine, engine.conditions(parse(text))


def _check_page(page: int, page_size: int) -> None:
    if page < 1:
        raise BadRequest(f"page must be 1 or more, not {page}.")
    if page > MAX_PAGE:  # the offset must fit a 64-bit database integer
        raise BadRequest(f"page must be at most {MAX_PAGE}; ask for a smaller page number.")
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise BadRequest(f"page_size must be between 1 and {MAX_PAGE_SIZE}, not {page_size}.")


def search(
    ctx: Context, *, user: User | None, query: str, page: int = 1, page_size: int = 20
) -> SearchResult:
    """Dandisets matching ``query`` that ``user`` may see, best first, with their matching
    assets and the facet counts of the whole result set.

    Without free text (only operators, or nothing) the most recently modified come first.
    The match is evaluated once: the ranked ids give the page, the total and the set the
    facets count over (docs/design/search.md, "Cost").
    """
    _check_page(page, page_size)
    parsed = parse(query)
    engine = engine_for(ctx.db)
    with ctx.db.read() as s:
        engine.prepare(s)
        total, window, facets = _match(s, engine, parsed, user, page, page_size)
        hits = _hits(s, engine, parsed, window)
    return SearchResult(total, hits, facets, page, page_size)


def _match(
    s: Session, engine: SearchEngine, query: Query, user: User | None, page: int, page_size: int
) -> tuple[int, list[tuple[int, float]], dict[str, list[tuple[str, int]]]]:
    """``(total, page of (id, score), facet counts)`` in one statement.

    The matching dandisets are ranked once, into a materialized CTE that the page, the
    total and the facet counts all read: only what is shown leaves the database (a broad
    query matches every dandiset; sending their ids to Python and back cost more than
    matching them). Facets are counted per combination of values (the ranking carries each
    dandiset's ``search_dandiset_facets.set_id``), then per value over the few combinations
    found."""
    r = engine.ranking(query, user).cte("ranked").prefix_with("MATERIALIZED")
    null_text = sa.null().cast(sa.Text)
    # The page first, then its order as numbers: a window over the whole ranking would sort
    # every match (10,000 for a broad query), where ORDER BY ... LIMIT keeps only the best
    # offset + page_size rows (a top-N heap).
    top = (
        sa.select(r.c.id, r.c.score, r.c.modified)
        .order_by(r.c.score.desc(), r.c.modified.desc(), r.c.id)
        .offset((page - 1) * page_size)
        .limit(page_size)
        .subquery("top")
    )
    keys = (top.c.score.desc(), top.c.modified.desc(), top.c.id)
    shown = sa.select(
        top.c.id, top.c.score, sa.func.row_number().over(order_by=keys).label("pos")
    ).subquery("shown")
    per_set = (
        sa.select(r.c.set_id, sa.func.count().label("n"))
        .where(r.c.set_id.is_not(None))
        .group_by(r.c.set_id)
        .subquery("per_set")
    )
    stmt = sa.union_all(
        sa.select(
            sa.literal(0).label("kind"),
            shown.c.id,
            shown.c.score,
            null_text.label("facet"),
            null_text.label("value"),
            shown.c.pos.label("n"),
        ),
        sa.select(
            sa.literal(1), sa.null(), sa.null(), null_text, null_text, sa.func.count()
        ).select_from(r),
        sa.select(
            sa.literal(2),
            sa.null(),
            sa.null(),
            SearchFacetSetValue.facet,
            SearchFacetSetValue.value,
            sa.func.sum(per_set.c.n),
        )
        .join(per_set, per_set.c.set_id == SearchFacetSetValue.set_id)
        .group_by(SearchFacetSetValue.facet, SearchFacetSetValue.value),
    )
    total = 0
    window: list[tuple[int, float, int]] = []
    counts: list[tuple[str, str, int]] = []
    for kind, ident, sc, facet, value, n in s.execute(stmt):
        if kind == 0:
            window.append((int(ident), float(sc), int(n)))
        elif kind == 1:
            total = int(n)
        else:
            counts.append((facet, value, int(n)))
    window.sort(key=lambda row: row[2])
    facets: dict[str, list[tuple[str, int]]] = {f: [] for f in FACETS}
    for facet, value, n in sorted(counts, key=lambda row: (row[0], -row[2], row[1])):
        if len(facets[facet]) < FACET_VALUES:
            facets[facet].append((value, n))
    return total, [(i, sc) for i, sc, _ in window], facets


def _hits(
    s: Session, engine: SearchEngine, query: Query, window: list[tuple[int, float]]
) -> list[DandisetHit]:
    ids = [i for i, _ in window]
    if not ids:
        return []
    versions = _versions(s, ids)
    snippets = engine.snippets(s, ids, query.terms)
    matches = engine.assets(s, ids, query, ASSETS_PER_HIT)
    details = {pk: hit for m in matches.values() for pk, hit in m.hits.items()}
    unread = [pk for m in matches.values() for pk in m.asset_pks if pk not in details]
    details |= _asset_hits(s, unread)
    hits = []
    for dandiset_id, score in window:
        name, version = versions[dandiset_id]
        found = matches[dandiset_id]
        hits.append(
            DandisetHit(
                identifier=f"{dandiset_id:06d}",
                name=name,
                version=version,
                score=round(score, 6),
                snippet=snippets.get(dandiset_id, ""),
                assets=[details[pk] for pk in found.asset_pks if pk in details],
                asset_count=found.count,
            )
        )
    return hits


def _versions(s: Session, ids: list[int]) -> dict[int, tuple[str, str]]:
    """``id -> (draft name, version to show)``: the latest published version while the
    draft is unchanged since publishing, else the draft."""
    rows = s.execute(
        sa.select(Version.dandiset_id, Version.version, Version.name, Version.status)
        .where(Version.dandiset_id.in_(ids))
        .order_by(Version.dandiset_id, Version.created)
    )
    drafts: dict[int, tuple[str, VersionStatus]] = {}
    published: dict[int, str] = defaultdict(str)
    for dandiset_id, version, name, status in rows:
        if version == DRAFT:
            drafts[dandiset_id] = (name, status)
        else:
            published[dandiset_id] = version  # ordered by creation: the last one wins
    out = {}
    for dandiset_id in ids:
        name, status = drafts[dandiset_id]
        latest = published.get(dandiset_id, "")
        out[dandiset_id] = (name, latest if latest and status == VersionStatus.PUBLISHED else DRAFT)
    return out


def _asset_hits(s: Session, pks: list[int]) -> dict[int, AssetHit]:
    """``asset primary key -> AssetHit`` for the assets listed on a page (one statement)."""
    if not pks:
        return {}
    return {
        r[0]: AssetHit(r[1], r[2], int(r[3] or 0))
        for r in s.execute(
            sa.select(Asset.id, Asset.path, Asset.asset_id, AssetBlob.size)
            .outerjoin(AssetBlob, AssetBlob.blob_id == Asset.blob_id)
            .where(Asset.id.in_(pks))
        )
    }
