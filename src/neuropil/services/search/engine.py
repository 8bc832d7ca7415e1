"""The search engine interface, and the SQL both backends share.

A backend (:mod:`.sqlite_fts`, :mod:`.postgres_fts`) supplies the full-text pieces: which
dandiset documents match a term, their relevance, snippets, and the matching assets of one
dandiset. Everything else — path words, metadata values, operators — is plain
SQL over ``search_words``/``search_facets`` and the archive's tables, written once here
(visibility is :func:`neuropil.services.visibility.readable`).

A dandiset matches a free-text term when the term occurs in its metadata document, in the
words of its asset paths, or in a metadata value of its assets (species, approach,
technique, variable measured, file type). That check never visits the assets, so a word
held by every file of the archive costs one row per dandiset, not one per asset.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from neuropil.db.engine import Reader
from neuropil.db.models import (
    Dandiset,
    SearchDandisetFacets,
    SearchFacet,
    SearchWord,
    User,
    dandiset_owners,
)
from neuropil.services.search.query import DateRange, Query, Term
from neuropil.services.search.results import AssetHit
from neuropil.services.visibility import readable

#: The facets a result reports, in order.
FACETS = ("species", "approach", "technique", "file_type")
#: Identifiers are six digits; a longer number is text (and beyond PostgreSQL's integer).
MAX_IDENTIFIER = 999_999


@dataclass(frozen=True)
class AssetMatches:
    """The matching assets of one dandiset: primary keys of the best ones, and the count;
    ``hits``: what to show of them, when the backend read it with the match."""

    asset_pks: list[int]
    count: int
    hits: dict[int, AssetHit] = field(default_factory=dict)


def like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class SearchEngine(ABC):
    """One backend's full-text search. Methods return SQL (to compose) or run it in ``s``."""

    # -- what a backend provides ---------------------------------------------------------------
    @abstractmethod
    def documents_matching(self, term: Term) -> sa.Select[Any]:
        """Ids of dandisets whose metadata document contains ``term``."""

    @abstractmethod
    def scores(self, terms: Sequence[Term]) -> sa.Subquery:
        """``(dandiset_id, score)`` of documents holding any of ``terms``; higher is better."""

    @abstractmethod
    def snippets(self, s: Session, ids: list[int], terms: Sequence[Term]) -> dict[int, str]:
        """A short plain-text excerpt of each dandiset's description, near the terms."""

    @abstractmethod
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
        """For each of ``dandiset_ids`` (one statement for all of them), the assets of its
        draft holding every term (or any, with ``any_term``) whose metadata values hold one
        phrase of each filter, oldest first. A dandiset without any may be left out."""

    @abstractmethod
    def prepare(self, s: Reader) -> None:
        """Settings for the search statements of read transaction ``s`` (a read outside
        transactions would lose them after its first statement:
        ``Database.rows(transaction=True)``)."""

    def lowered(self, column: Any) -> Any:
        """``column`` for a case-insensitive ``LIKE`` with a lower-case pattern."""
        return sa.func.lower(column)

    # -- shared SQL ----------------------------------------------------------------------------
    def assets(
        self, s: Session, dandiset_ids: Sequence[int], query: Query, limit: int
    ) -> dict[int, AssetMatches]:
        """The assets to list under each hit: those holding every term and satisfying the
        asset operators; else, as the words may be spread over the dandiset and its files,
        those holding any term; else those the operators select.

        Each attempt is one statement for all the hits still without assets (a page costs
        at most three, not three per hit)."""
        filters = asset_filter_tokens(query)
        terms = query.terms
        attempts: list[tuple[Sequence[Term], bool]] = []
        if terms:
            attempts.append((terms, False))
        if len(terms) > 1:
            attempts.append((terms, True))
        if filters:
            attempts.append(((), False))
        found: dict[int, AssetMatches] = {}
        todo = list(dandiset_ids)
        for attempt_terms, any_term in attempts:
            if not todo:
                break
            got = self.asset_matches(
                s, todo, attempt_terms, filters, any_term=any_term, limit=limit
            )
            found.update({i: m for i, m in got.items() if m.count})
            todo = [i for i in todo if i not in found]
        return {i: found.get(i, AssetMatches([], 0)) for i in dandiset_ids}

    def term_matches(self, term: Term) -> sa.CompoundSelect[Any]:
        """Ids of dandisets where ``term`` occurs: metadata, path words or asset values."""
        return sa.union(self.documents_matching(term), *self.file_matches(term))

    def file_matches(self, term: Term) -> list[sa.Select[Any]]:
        """Ids of dandisets where ``term`` occurs outside the metadata document: in the
        words of the asset paths, in an asset metadata value, or as the number."""
        parts: list[sa.Select[Any]] = [
            self.path_words_matching(term),
            values_matching(
                self.lowered(FACET_VALUES.c.value).like("%" + "%".join(term.tokens) + "%")
            ),
        ]
        if len(term.tokens) == 1 and term.tokens[0].isdigit():
            number = int(term.tokens[0])
            if 0 < number <= MAX_IDENTIFIER:
                parts.append(sa.select(Dandiset.id).where(Dandiset.id == number))
        return parts

    def path_words_matching(self, term: Term) -> sa.Select[Any]:
        """Dandisets whose asset paths hold every word of ``term`` (prefixes for long words)."""
        selects = []
        for i, token in enumerate(term.tokens):
            word = SearchWord.word
            cond = (
                sa.and_(word >= token, word < token + "\U0010ffff")
                if term.prefixed(i)
                else word == token
            )
            selects.append(sa.select(SearchWord.dandiset_id).where(cond))
        if len(selects) == 1:
            return selects[0]
        return sa.select(sa.intersect(*selects).subquery().c[0])

    def candidates(
        self, query: Query, user: User | None, *, visible: bool = True
    ) -> sa.Select[Any]:
        """``(id, modified)`` of the dandisets matching ``query`` that ``user`` may see."""
        q: Any = sa.select(Dandiset.id, Dandiset.modified)
        q = q.where(*self.conditions(query))
        selected: sa.Select[Any] = q.where(readable(user)) if visible else q
        return selected

    def ranking(self, query: Query, user: User | None) -> sa.Select[Any]:
        """``(id, score, modified, set_id)`` of the dandisets matching ``query`` that
        ``user`` may see: ``score`` is 0 for those matched only through their files (or
        without text), ``set_id`` their combination of facet values (NULL without any)."""
        c = self.candidates(query, user).subquery("candidates")
        combos = SearchDandisetFacets
        if not query.terms:
            ranked: Any = sa.select(c.c.id, sa.literal(0.0).label("score"), c.c.modified)
        else:
            scores = self.scores(query.terms)
            score: Any = sa.func.coalesce(scores.c.score, 0.0)
            ranked = sa.select(c.c.id, score.label("score"), c.c.modified).outerjoin(
                scores, scores.c.dandiset_id == c.c.id
            )
        selected: sa.Select[Any] = ranked.add_columns(combos.set_id).outerjoin(
            combos, combos.dandiset_id == c.c.id
        )
        return selected

    def conditions(self, query: Query) -> list[Any]:
        """Conditions on ``dandisets`` that select the dandisets matching ``query``, for a
        query of the caller's (visibility left to it)."""
        conds: list[Any] = [self.term_condition(term) for term in query.terms]
        return conds + self.operator_conditions(query)

    def term_condition(self, term: Term) -> Any:
        """A condition on ``dandisets`` that holds where ``term`` occurs."""
        return Dandiset.id.in_(self.term_matches(term))

    def operator_conditions(self, query: Query) -> list[Any]:
        """Conditions on ``dandisets`` for the operators and dates of ``query``."""
        conds: list[Any] = [
            self.among(operator_matches(op, values, query, self.lowered))
            for op, values in query.values.items()
        ]
        conds += _date_conditions(Dandiset.created, query.created)
        conds += _date_conditions(Dandiset.modified, query.modified)
        return conds

    def among(self, ids: sa.Select[Any]) -> Any:
        """A condition on ``dandisets``: its id is one of ``ids`` (an operator's dandisets)."""
        return Dandiset.id.in_(ids)


def operator_matches(
    op: str, values: list[str], query: Query, lowered: Callable[[Any], Any] = sa.func.lower
) -> sa.Select[Any]:
    """Dandisets matching any of the values of one operator (``lowered``: see
    :meth:`SearchEngine.lowered`)."""
    if op == "owner":
        u = User.__table__.c
        conds = []
        for v in values:
            sub = f"%{like_escape(v.lower())}%"
            conds += [
                sa.func.lower(u.username).like(sub, escape="\\"),
                sa.func.lower(u.name).like(sub, escape="\\"),
                sa.func.lower(u.email) == v.lower(),
            ]
        return (
            sa.select(dandiset_owners.c.dandiset_id)
            .join(User.__table__, u.id == dandiset_owners.c.user_id)
            .where(sa.or_(*conds))
        )
    value = lowered(FACET_VALUES.c.value)
    if op == "file_type":
        patterns = [like_escape(t) + "%" for t in query.file_types]
    else:  # substring of the value, as DANDI matches its assetsSummary
        patterns = [f"%{like_escape(v.lower())}%" for v in values]
    return values_matching(
        FACET_VALUES.c.facet == op, sa.or_(*(value.like(p, escape="\\") for p in patterns))
    )


#: Every facet ``search_facets`` holds (migration 0004).
STORED_FACETS = ("species", "approach", "technique", "variable", "file_type")


def _facet_values() -> sa.CTE:
    """The distinct ``(facet, value)`` pairs of ``search_facets``, found by skipping through
    the index ``(facet, value, dandiset_id)``: one seek per distinct value.

    The archive holds a few dozen distinct values in tens of thousands of rows (one per
    dandiset and value). Matching text against the rows calls ``LIKE`` (and on PostgreSQL
    ``lower()``) on every one of them — 9 ms per term on PostgreSQL, 4 on SQLite, for the
    50,000 rows of the benchmark — against the distinct values it costs well under 1 ms,
    and the matching values' dandisets are then read from the same index.
    """
    t = SearchFacet.__table__
    names = sa.union_all(
        *(sa.select(sa.literal(facet, sa.String).label("facet")) for facet in STORED_FACETS)
    ).subquery("names")
    first = sa.select(
        names.c.facet,
        sa.select(sa.func.min(t.c.value))
        .where(t.c.facet == names.c.facet)
        .scalar_subquery()
        .label("value"),
    )
    values = first.cte("facet_values", recursive=True)
    later = t.alias("later")
    step = sa.select(
        values.c.facet,
        sa.select(sa.func.min(later.c.value))
        .where(later.c.facet == values.c.facet, later.c.value > values.c.value)
        .scalar_subquery(),
    ).where(values.c.value.is_not(None))
    return values.union_all(step)


FACET_VALUES = _facet_values()


def values_matching(*conditions: Any) -> sa.Select[Any]:
    """Dandisets holding a facet value that satisfies ``conditions`` on ``FACET_VALUES``."""
    matching = sa.select(FACET_VALUES.c.facet, FACET_VALUES.c.value).where(
        FACET_VALUES.c.value.is_not(None), *conditions
    )
    return sa.select(SearchFacet.dandiset_id).where(
        sa.tuple_(SearchFacet.facet, SearchFacet.value).in_(matching)
    )


def _date_conditions(column: Any, span: DateRange) -> list[Any]:
    conds = []
    if span.lower is not None:
        conds.append(column >= span.lower)
    if span.upper is not None:
        conds.append(column < span.upper)
    return conds


def asset_filter_tokens(query: Query) -> list[list[tuple[str, ...]]]:
    """The asset operators as token phrases: one list of alternatives per operator."""
    from neuropil.services.search.query import words

    out = []
    for op, values in query.asset_filters.items():
        texts = query.file_types if op == "file_type" else values
        alternatives = [tuple(words(t)) for t in texts]
        alternatives = [a for a in alternatives if a]
        if alternatives:
            out.append(alternatives)
    return out
