"""PostgreSQL full-text search: ``tsvector`` columns with GIN indexes.

``search_dandisets.document`` weighs the identifier and name (A) over description and
keywords (B) and every other metadata string (D); ``search_assets.document`` holds an asset's
path (A) and metadata values (B). Text goes through ``np_search_text`` (lower case, anything
but letters and digits becomes a space) and the ``simple`` configuration (no stemming, no
stop words), so a word is found exactly as typed, like SQLite's unicode61.

Queries are ``to_tsquery`` strings built from parser tokens (letters and digits only), each
quoted, and passed as bound parameters.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from neuropil.db.models import SearchDandiset
from neuropil.services.search.engine import AssetMatches, SearchEngine
from neuropil.services.search.query import MIN_PREFIX, Term

_SIMPLE: Any = sa.literal_column("'simple'::regconfig")
SNIPPET_OPTIONS = 'StartSel="", StopSel="", MaxWords=30, MinWords=12, ShortWord=2'


def _token(token: str, weight: str) -> str:
    label = ("*" if len(token) >= MIN_PREFIX else "") + weight
    return f"'{token}'" + (f":{label}" if label else "")


def phrase(tokens: Sequence[str], weight: str = "") -> str:
    """A tsquery phrase: the words in this order, long words matching as prefixes, only
    in the parts of the document with ``weight`` if given."""
    return "(" + " <-> ".join(_token(t, weight) for t in tokens) + ")"


def any_of(terms: Sequence[Term]) -> str:
    return "(" + " | ".join(phrase(t.tokens) for t in terms) + ")"


def all_of(parts: Sequence[str]) -> str:
    return " & ".join(parts)


def tsquery(text: str) -> Any:
    return sa.func.to_tsquery(_SIMPLE, text)


class PostgresSearch(SearchEngine):
    def documents_matching(self, term: Term) -> sa.Select[Any]:
        return sa.select(SearchDandiset.dandiset_id).where(
            SearchDandiset.document.op("@@")(tsquery(phrase(term.tokens)))
        )

    def prepare(self, s: Session) -> None:
        # The planner prices ``document @@ query`` like any operator call and so prefers a
        # sequential scan that evaluates every stored tsvector (7-12 ms for the 10,000
        # documents of the benchmark) over the GIN index (2-4 ms) whenever a term matches
        # about half of them — which each term of a two-word query does, once for the
        # match and once per term. Within this read transaction only (``SET LOCAL``),
        # sequential scans are the last resort; every table the search reads has the
        # index it needs. Measured on the benchmark: -30 % for the ranking of the common
        # queries, no slower anywhere.
        s.execute(sa.text("SET LOCAL enable_seqscan = off"))

    def scores(self, terms: Sequence[Term]) -> sa.Subquery:
        q = tsquery(any_of(terms))
        return (
            sa.select(
                SearchDandiset.dandiset_id.label("dandiset_id"),
                sa.func.ts_rank(SearchDandiset.document, q).label("score"),
            )
            .where(SearchDandiset.document.op("@@")(q))
            .subquery("scores")
        )

    def snippets(self, s: Session, ids: list[int], terms: Sequence[Term]) -> dict[int, str]:
        if not ids:
            return {}
        text = sa.func.left(SearchDandiset.description, 20_000)
        if terms:
            excerpt = sa.func.ts_headline(_SIMPLE, text, tsquery(any_of(terms)), SNIPPET_OPTIONS)
        else:
            excerpt = sa.func.left(text, 240)
        rows = s.execute(
            sa.select(SearchDandiset.dandiset_id, excerpt).where(
                SearchDandiset.dandiset_id.in_(ids)
            )
        )
        return {r[0]: " ".join(str(r[1]).split()) for r in rows}

    def asset_matches(
        self,
        s: Session,
        dandiset_ids: Sequence[int],
        terms: Sequence[Term],
        filters: list[list[tuple[str, ...]]],
        *,
        any_term: bool,
        limit: int,
    ) -> dict[int, AssetMatches]:
        # Metadata values carry weight B in the asset document: ``:B`` restricts a filter
        # to them, as FTS5's ``meta :`` column filter does.
        parts = ["(" + " | ".join(phrase(a, "B") for a in alts) + ")" for alts in filters]
        if terms:
            parts += [any_of(terms)] if any_term else [phrase(t.tokens) for t in terms]
        rows = s.execute(
            _PAGE_ASSETS, {"ids": list(dandiset_ids), "q": all_of(parts), "limit": limit}
        )
        out: dict[int, AssetMatches] = {}
        for dandiset_id, asset_pk, n in rows:
            out.setdefault(dandiset_id, AssetMatches([], int(n))).asset_pks.append(asset_pk)
        return out


#: The matching assets of every hit of a page in one statement: a lateral subquery per
#: dandiset. ``OFFSET 0`` keeps the planner from answering with the GIN index: over the
#: whole table a common word (``nwb``) is a million postings, while the dandiset's own rows
#: are one primary-key range whose stored tsvectors are checked directly. The window count
#: comes from the same evaluation as the first rows.
_PAGE_ASSETS = sa.text(
    """SELECT d.id, m.asset_id, m.n
    FROM unnest(CAST(:ids AS integer[])) WITH ORDINALITY AS d(id, i)
    CROSS JOIN LATERAL (
        SELECT mine.asset_id, count(*) OVER () AS n
        FROM (SELECT asset_id, document FROM search_assets
              WHERE dandiset_id = d.id OFFSET 0) AS mine
        WHERE mine.document @@ to_tsquery('simple', :q)
        ORDER BY mine.asset_id
        LIMIT :limit
    ) AS m
    ORDER BY d.i, m.asset_id"""
)
