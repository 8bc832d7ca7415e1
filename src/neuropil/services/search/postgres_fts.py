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

from neuropil.db.engine import Reader
from neuropil.db.models import Dandiset, SearchDandiset, SearchDandisetFacets, User
from neuropil.services.search.engine import AssetMatches, SearchEngine
from neuropil.services.search.query import MIN_PREFIX, Query, Term
from neuropil.services.search.results import SNIPPET_CHARS, AssetHit, clip, framed
from neuropil.services.visibility import readable

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


#: The read transaction's settings (see :meth:`PostgresSearch.prepare`).
_SETTINGS = sa.text(
    "SELECT set_config('enable_seqscan', 'off', true), set_config('jit', 'off', true), "
    "set_config('plan_cache_mode', 'force_custom_plan', true)"
)


def tsquery(text: str) -> Any:
    return sa.func.to_tsquery(_SIMPLE, text)


class PostgresSearch(SearchEngine):
    def documents_matching(self, term: Term) -> sa.Select[Any]:
        return sa.select(SearchDandiset.dandiset_id).where(
            SearchDandiset.document.op("@@")(tsquery(phrase(term.tokens)))
        )

    def term_condition(self, term: Term) -> Any:
        # Alternatives, not a UNION of the three sources: each ``IN`` is a hashed subplan
        # built on first use, so a word every document holds (``nwb``) is never looked up
        # among the path words and values of 10,000 dandisets.
        sources = [self.documents_matching(term), *self.file_matches(term)]
        return sa.or_(*(Dandiset.id.in_(source) for source in sources))

    def ranking(self, query: Query, user: User | None) -> sa.Select[Any]:
        """One pass over the GIN index for all the terms: the documents holding any term,
        with their score and, per term, whether it holds that one; a dandiset then matches
        a term through its document or, only when it does not, its files.

        A term that no file of a dandiset ``user`` may read holds (no path word, metadata
        value or number: one ``EXISTS`` each, evaluated once) can only match through the
        document, so the documents lacking it are left out by the index itself, and the
        document need not be checked for it (docs/design/search.md, "Cost")."""
        if not query.terms:
            return super().ranking(query, user)
        doc = SearchDandiset.document
        any_term = tsquery(any_of(query.terms))
        wanted, flags = any_term, [sa.true().label("t0")]  # one term: every document holds it
        if len(query.terms) > 1:
            wanted, flags = self._documents_needed(query.terms, any_term, user)
        docs = (
            sa.select(
                SearchDandiset.dandiset_id.label("id"),
                sa.func.ts_rank(doc, any_term).label("score"),
                *flags,
            )
            .where(doc.op("@@")(wanted))
            .cte("docs")
            .prefix_with("MATERIALIZED")
        )
        terms = [
            sa.or_(docs.c[f"t{i}"], *(Dandiset.id.in_(f) for f in self.file_matches(term)))
            for i, term in enumerate(query.terms)
        ]
        combos = SearchDandisetFacets
        ranked: Any = sa.select(
            Dandiset.id,
            sa.func.coalesce(docs.c.score, 0.0).label("score"),
            Dandiset.modified,
            combos.set_id,
        )
        selected: sa.Select[Any] = (
            ranked.outerjoin(docs, docs.c.id == Dandiset.id)
            .outerjoin(combos, combos.dandiset_id == Dandiset.id)
            .where(*terms, *self.operator_conditions(query), readable(user))
        )
        return selected

    def _documents_needed(
        self, terms: Sequence[Term], any_term: Any, user: User | None
    ) -> tuple[Any, list[sa.Label[Any]]]:
        """For several terms: the tsquery selecting the documents that can match, and per
        term ``t{i}``, whether a document holds it.

        Per term, whether any file holds it is an uncorrelated scalar subquery, which
        PostgreSQL evaluates once, before the scan (an InitPlan): the tsquery, built from
        those answers, is then a parameter of the GIN index scan. Each term adds a factor:
        the term itself when no file holds it, else the any-term query (which every
        document found holds anyway).

        Only the files of dandisets ``user`` may read count: the others are not in the
        answer anyway, and the plan (and so the time a search takes) must not tell whether
        an embargoed file holds a word."""
        doc = SearchDandiset.document
        wanted: Any = None
        flags: list[sa.Label[Any]] = []
        for i, term in enumerate(terms):
            one = tsquery(phrase(term.tokens))
            readable_holders = (
                sa.select(Dandiset.id)
                .where(Dandiset.id.in_(sa.union_all(*self.file_matches(term))), readable(user))
                .correlate(None)
            )
            in_files = sa.select(sa.exists(readable_holders)).scalar_subquery()
            factor = sa.case((in_files, any_term), else_=one)
            wanted = factor if wanted is None else wanted.op("&&")(factor)
            flags.append(sa.case((in_files, doc.op("@@")(one)), else_=sa.true()).label(f"t{i}"))
        return wanted, flags

    def among(self, ids: sa.Select[Any]) -> Any:
        # ``IS TRUE`` (the same rows in a WHERE clause) keeps the planner from turning the
        # ``IN`` into a join: the operator's dandisets are then read once into a hash that
        # each candidate probes ("hashed SubPlan"). As a join, its row estimate decides the
        # plan, and it cannot know how many dandisets a ``LIKE`` on the owners or a facet
        # value selects: for an owner of all 10,000 dandisets it guessed 250 and probed
        # the dandisets' primary key 10,000 times (docs/design/search.md, "Cost").
        return Dandiset.id.in_(ids).is_(sa.true())

    def prepare(self, s: Reader) -> None:
        # For this read transaction only (``set_config(..., true)`` is ``SET LOCAL``), in one
        # round trip:
        # - sequential scans are the last resort. The planner prices ``document @@ query``
        #   like any operator call and so prefers evaluating every stored tsvector (7-12 ms
        #   for the 10,000 documents of the benchmark) over the GIN index (2-4 ms) whenever a
        #   term matches about half of them. Every table the search reads has the index it
        #   needs;
        # - no JIT compilation: a plan that has to keep a sequential scan costs 10^10 under
        #   that setting, far past ``jit_above_cost``, and compiling it takes ~250 ms;
        # - a plan for the values at hand: psycopg prepares a statement run 5 times on a
        #   connection, and PostgreSQL may then switch to a generic plan, made without the
        #   query's words: which plan a search got would depend on the searches before it.
        s.execute(_SETTINGS)

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
        if not terms:
            opening = sa.func.left(text, 2 * SNIPPET_CHARS)
            rows = s.execute(
                sa.select(SearchDandiset.dandiset_id, opening).where(
                    SearchDandiset.dandiset_id.in_(ids)
                )
            )
            return {r[0]: clip(str(r[1] or "")) for r in rows}
        # ts_headline cuts at words but marks no cut: the ellipses come from comparing the
        # excerpt with the description it came from.
        excerpt = sa.func.ts_headline(_SIMPLE, text, tsquery(any_of(terms)), SNIPPET_OPTIONS)
        rows = s.execute(
            sa.select(SearchDandiset.dandiset_id, excerpt, text).where(
                SearchDandiset.dandiset_id.in_(ids)
            )
        )
        return {r[0]: framed(str(r[1] or ""), str(r[2] or "")) for r in rows}

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
        for dandiset_id, asset_pk, n, path, asset_id, size in rows:
            found = out.setdefault(dandiset_id, AssetMatches([], int(n)))
            found.asset_pks.append(asset_pk)
            found.hits[asset_pk] = AssetHit(path, asset_id, int(size or 0))
        return out


#: The matching assets of every hit of a page in one statement: a lateral subquery per
#: dandiset. ``OFFSET 0`` keeps the planner from answering with the GIN index: over the
#: whole table a common word (``nwb``) is a million postings, while the dandiset's own rows
#: are one primary-key range whose stored tsvectors are checked directly. The window count
#: comes from the same evaluation as the first rows; what the page shows of each asset comes
#: along (one round trip less).
_PAGE_ASSETS = sa.text(
    """SELECT d.id, m.asset_id, m.n, a.path, a.asset_id, b.size
    FROM unnest(CAST(:ids AS integer[])) WITH ORDINALITY AS d(id, i)
    CROSS JOIN LATERAL (
        SELECT mine.asset_id, count(*) OVER () AS n
        FROM (SELECT asset_id, document FROM search_assets
              WHERE dandiset_id = d.id OFFSET 0) AS mine
        WHERE mine.document @@ to_tsquery('simple', :q)
        ORDER BY mine.asset_id
        LIMIT :limit
    ) AS m
    JOIN assets a ON a.id = m.asset_id
    LEFT JOIN asset_blobs b ON b.blob_id = a.blob_id
    ORDER BY d.i, m.asset_id"""
)
