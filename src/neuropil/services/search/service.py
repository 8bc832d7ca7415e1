"""``search()``: parse, match, rank, page, and describe the hits (one read transaction)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from neuropil.core.ids import DRAFT
from neuropil.db.engine import Database
from neuropil.db.models import Asset, AssetBlob, SearchFacet, User, Version, VersionStatus
from neuropil.errors import BadRequest
from neuropil.services.context import Context
from neuropil.services.search.engine import FACETS, SearchEngine
from neuropil.services.search.postgres_fts import PostgresSearch
from neuropil.services.search.query import Query, parse
from neuropil.services.search.results import AssetHit, DandisetHit, SearchResult
from neuropil.services.search.sqlite_fts import SqliteSearch

MAX_PAGE_SIZE = 100
#: Matching assets listed under each hit.
ASSETS_PER_HIT = 10
#: Values listed per facet.
FACET_VALUES = 20
#: Beyond this many matched dandisets, facet counts scan the facet index (see _facets).
FACET_SCAN = 1000


def engine_for(db: Database) -> SearchEngine:
    return SqliteSearch() if db.is_sqlite else PostgresSearch()


def matching_ids(db: Database, text: str) -> sa.Select[Any]:
    """Ids of the dandisets matching ``text`` (visibility left to the caller), for
    ``/api/dandisets/?search=``; a bad query raises :class:`BadRequest`."""
    query = parse(text)
    engine = engine_for(db)
    # Evaluated once here: the listing counts its rows and then reads a page, and would
    # otherwise run the match twice. (In a read of its own: a dandiset deleted in between
    # drops out of the listing's join; one created in between is missed, as it would be
    # by a request a moment earlier.)
    with db.read() as s:
        engine.prepare(s)
        ids = list(
            s.scalars(sa.select(engine.candidates(query, None, visible=False).subquery().c.id))
        )
    return engine.dandiset_ids(ids)


def _check_page(page: int, page_size: int) -> None:
    if page < 1:
        raise BadRequest(f"page must be 1 or more, not {page}.")
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
        ranked = _ranked(s, engine, parsed, user)
        total = len(ranked)
        start = (page - 1) * page_size
        window = ranked[start : start + page_size]
        hits = _hits(s, engine, parsed, window)
        facets = _facets(s, engine, [i for i, _ in ranked])
    return SearchResult(total, hits, facets, page, page_size)


def _ranked(
    s: Session, engine: SearchEngine, query: Query, user: User | None
) -> list[tuple[int, float]]:
    """Every matching dandiset as ``(id, score)``, in result order."""
    c = engine.candidates(query, user).subquery("candidates")
    if query.terms:
        scores = engine.scores(query.terms)
        score = sa.func.coalesce(scores.c.score, 0.0)
        q = (
            sa.select(c.c.id, score)
            .outerjoin(scores, scores.c.dandiset_id == c.c.id)
            .order_by(score.desc(), c.c.modified.desc(), c.c.id)
        )
    else:
        q = sa.select(c.c.id, sa.literal(0.0)).order_by(c.c.modified.desc(), c.c.id)
    return [(int(i), float(sc)) for i, sc in s.execute(q)]


def _facets(s: Session, engine: SearchEngine, ids: list[int]) -> dict[str, list[tuple[str, int]]]:
    """Facet counts over the dandisets already matched (the match is not run again)."""
    out: dict[str, list[tuple[str, int]]] = {f: [] for f in FACETS}
    if not ids:
        return out
    n = sa.func.count()
    dandiset: Any = SearchFacet.dandiset_id
    if len(ids) > FACET_SCAN:
        # Many dandisets: read the index (facet, value, dandiset_id) in order, which needs
        # no sort. ``+ 0`` hides the primary key from SQLite's planner, which would
        # otherwise seek each dandiset and sort every row it finds (50 ms instead of 10
        # for the 10,000 dandisets of the benchmark).
        dandiset = dandiset + 0
    rows = s.execute(
        sa.select(SearchFacet.facet, SearchFacet.value, n)
        .where(SearchFacet.facet.in_(FACETS), dandiset.in_(engine.id_list(ids)))
        .group_by(SearchFacet.facet, SearchFacet.value)
        .order_by(SearchFacet.facet, n.desc(), SearchFacet.value)
    )
    for facet, value, count in rows:
        if len(out[facet]) < FACET_VALUES:
            out[facet].append((value, int(count)))
    return out


def _hits(
    s: Session, engine: SearchEngine, query: Query, window: list[tuple[int, float]]
) -> list[DandisetHit]:
    ids = [i for i, _ in window]
    if not ids:
        return []
    versions = _versions(s, ids)
    snippets = engine.snippets(s, ids, query.terms)
    matches = engine.assets(s, ids, query, ASSETS_PER_HIT)
    details = _asset_hits(s, [pk for m in matches.values() for pk in m.asset_pks])
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
