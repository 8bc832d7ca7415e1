"""SQLite FTS5 (the embedded default).

``search_dandiset_fts`` holds one row per dandiset (rowid = dandiset id) with the columns
``identifier, name, description, other``; ``search_asset_fts`` one row per asset of a draft
with rowid ``dandiset_id << 32 | assets.id`` and the columns ``path, meta``, so the assets of
one dandiset are a rowid range FTS5 seeks to directly. Migration 0004 creates both and the
triggers that keep them.

MATCH expressions are built from parser tokens (letters and digits only), each quoted, so no
user text is ever read as FTS5 syntax.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from neuropil.db.engine import Reader
from neuropil.db.models import SearchFacet, SearchWord
from neuropil.services.search.engine import AssetMatches, SearchEngine
from neuropil.services.search.query import MIN_PREFIX, Term, words
from neuropil.services.search.results import SNIPPET_CHARS, clip

DANDISETS = sa.table("search_dandiset_fts", sa.column("rowid", sa.Integer))
_DANDISETS_MATCH: Any = sa.literal_column("search_dandiset_fts")
#: bm25 weights of identifier, name, description (+ keywords), everything else.
WEIGHTS = (10.0, 10.0, 3.0, 1.0)
ROWID_BITS = 32
SNIPPET_TOKENS = 24


def _token(token: str) -> str:
    return f'"{token}"' + ("*" if len(token) >= MIN_PREFIX else "")


def phrase(tokens: Sequence[str]) -> str:
    """An FTS5 phrase: the words in this order, long words matching as prefixes."""
    return " + ".join(_token(t) for t in tokens)


def any_of(terms: Sequence[Term]) -> str:
    return " OR ".join(f"({phrase(t.tokens)})" for t in terms)


def all_of(parts: Sequence[str]) -> str:
    return " AND ".join(f"({p})" for p in parts)


class SqliteSearch(SearchEngine):
    def documents_matching(self, term: Term) -> sa.Select[Any]:
        return sa.select(DANDISETS.c.rowid).where(_DANDISETS_MATCH.op("MATCH")(phrase(term.tokens)))

    def prepare(self, s: Reader) -> None:
        """Nothing to set: SQLite's planner finds the FTS5 and index plans by itself."""

    def lowered(self, column: Any) -> Any:
        # SQLite's LIKE folds ASCII case itself, and its lower() folds nothing else: the
        # same rows match without a function call per row (4 ms instead of 21 ms over the
        # 50,000 facet rows of the benchmark).
        return column

    def scores(self, terms: Sequence[Term]) -> sa.Subquery:
        # bm25() is "lower is better" and negative: negate it so higher is better.
        rank = -sa.func.bm25(_DANDISETS_MATCH, *WEIGHTS)
        return (
            sa.select(DANDISETS.c.rowid.label("dandiset_id"), rank.label("score"))
            .where(_DANDISETS_MATCH.op("MATCH")(any_of(terms)))
            .subquery("scores")
        )

    def snippets(self, s: Session, ids: list[int], terms: Sequence[Term]) -> dict[int, str]:
        if not ids:
            return {}
        out: dict[int, str] = {}
        if terms:
            snippet = sa.func.snippet(_DANDISETS_MATCH, 2, "", "", "…", SNIPPET_TOKENS)
            rows = s.execute(
                sa.select(DANDISETS.c.rowid, snippet).where(
                    _DANDISETS_MATCH.op("MATCH")(f"description : ({any_of(terms)})"),
                    # ``+ 0``: filter the rows of one evaluation of the MATCH. On the bare
                    # rowid FTS5 would evaluate it again for each id (15 ms instead of 1.5
                    # for a page of 20 hits and a prefix term).
                    (DANDISETS.c.rowid + 0).in_(ids),
                )
            )
            out.update({r[0]: r[1] for r in rows})
        rest = [i for i in ids if i not in out]
        if rest:
            # The opening of the description, cut at a word (FTS5's snippets are cut at
            # tokens already, with their own ellipses).
            description: Any = sa.literal_column("description")
            opening = sa.func.substr(description, 1, 2 * SNIPPET_CHARS)
            rows = s.execute(
                sa.select(DANDISETS.c.rowid, opening).where(DANDISETS.c.rowid.in_(rest))
            )
            out.update({r[0]: clip(r[1] or "") for r in rows})
        return {k: " ".join(v.split()) for k, v in out.items()}

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
        tokens = {t for term in terms for t in term.tokens}
        vocab = _Vocabulary(s, dandiset_ids, tokens)
        matches = {}
        for dandiset_id in dandiset_ids:
            match = self._match(vocab, dandiset_id, terms, filters, any_term=any_term)
            if match is not None:
                matches[dandiset_id] = match
        return self._assets(s, matches, limit)

    @staticmethod
    def _match(
        vocab: _Vocabulary,
        dandiset_id: int,
        terms: Sequence[Term],
        filters: list[list[tuple[str, ...]]],
        *,
        any_term: bool,
    ) -> str | None:
        """The FTS5 expression for one dandiset's assets, ``None`` if none can match."""
        parts = []
        for alternatives in filters:
            options = [vocab.phrase(dandiset_id, a, meta_only=True) for a in alternatives]
            if not any(options):
                return None
            parts.append(f"meta : ({' OR '.join(o for o in options if o)})")
        phrases = [vocab.phrase(dandiset_id, t.tokens) for t in terms]
        if any_term:
            if not any(phrases):
                return None
            parts.append(" OR ".join(p for p in phrases if p))
        elif not all(phrases):
            return None
        else:
            parts += [p for p in phrases if p]
        return all_of(parts)

    def _assets(self, s: Session, matches: dict[int, str], limit: int) -> dict[int, AssetMatches]:
        """One statement: per dandiset, a MATCH over its rowid range (FTS5 seeks to it),
        giving the first rows and, from the same evaluation, the count of all."""
        if not matches:
            return {}
        # SQL text, not SQLAlchemy constructs: building and keying 20 subqueries cost about
        # 4 ms a page, more than running them. The text depends only on the number of hits.
        params: dict[str, Any] = {"limit": limit}
        for i, (dandiset_id, match) in enumerate(matches.items()):
            low = dandiset_id << ROWID_BITS
            params |= {f"m{i}": match, f"lo{i}": low, f"hi{i}": low + (1 << ROWID_BITS)}
        rows = s.execute(_page_assets(len(matches)), params).all()
        mask = (1 << ROWID_BITS) - 1
        out: dict[int, AssetMatches] = {}
        for rowid, n in rows:
            found = out.setdefault(rowid >> ROWID_BITS, AssetMatches([], int(n)))
            found.asset_pks.append(rowid & mask)
        return out


@functools.lru_cache(maxsize=128)
def _page_assets(hits: int) -> sa.TextClause:
    """Per hit ``i``, a MATCH of ``:m{i}`` over the rowid range ``[:lo{i}, :hi{i})``: the
    first ``:limit`` rows and, from the same evaluation, the count of all."""
    one = (
        "SELECT rowid, n FROM (SELECT rowid, count(*) OVER () AS n FROM search_asset_fts "
        "WHERE search_asset_fts MATCH :m{i} AND rowid >= :lo{i} AND rowid < :hi{i} "
        "LIMIT :limit)"
    )
    return sa.text(" UNION ALL ".join(one.format(i=i) for i in range(hits)))


class _Vocabulary:
    """The words of some dandisets' assets, to turn word prefixes into whole words.

    FTS5 answers a prefix (``"sub"*``) by merging the posting lists of every word with that
    prefix over the whole table before it looks at the rowid range; a prefix held by every
    file of the archive then costs a pass over a million entries per hit. The dandiset's
    own words (``search_words`` for paths, its metadata values for ``meta``) are a handful
    of rows, and whole words let FTS5 seek straight to the dandiset's range. Two statements
    load them for every dandiset of a page.
    """

    #: Beyond this many whole-word combinations in one phrase, keep the prefix form.
    MAX_COMBINATIONS = 32

    def __init__(self, s: Session, dandiset_ids: Sequence[int], tokens: set[str]) -> None:
        ids = list(dandiset_ids)
        self.meta: dict[int, set[str]] = {i: set() for i in ids}
        for dandiset_id, value in s.execute(
            sa.select(SearchFacet.dandiset_id, SearchFacet.value).where(
                SearchFacet.dandiset_id.in_(ids)
            )
        ):
            self.meta[dandiset_id].update(words(value))
        self.paths: dict[tuple[int, str], set[str]] = {}
        prefixes = sorted(t for t in tokens if len(t) >= MIN_PREFIX)
        if prefixes:
            # One range per prefix: the primary key (dandiset_id, word) seeks to each.
            selects = [
                sa.select(SearchWord.dandiset_id, sa.literal(token), SearchWord.word).where(
                    SearchWord.dandiset_id.in_(ids),
                    SearchWord.word >= token,
                    SearchWord.word < token + "\U0010ffff",
                )
                for token in prefixes
            ]
            both = sa.union_all(*selects) if len(selects) > 1 else selects[0]
            for dandiset_id, token, stored in s.execute(both):
                # Path words are split at ASCII punctuation only: split the rest here.
                self.paths.setdefault((dandiset_id, token), set()).update(words(stored))

    def expand(self, dandiset_id: int, token: str, *, meta_only: bool) -> set[str]:
        found = {w for w in self.meta[dandiset_id] if w.startswith(token)}
        if not meta_only:
            stored = self.paths.get((dandiset_id, token), set())
            found |= {w for w in stored if w.startswith(token)}
        return found

    def phrase(
        self, dandiset_id: int, tokens: Sequence[str], *, meta_only: bool = False
    ) -> str | None:
        """An FTS5 expression for the phrase in whole words, ``None`` if no asset of the
        dandiset can hold it."""
        options: list[list[str]] = []
        for token in tokens:
            if len(token) < MIN_PREFIX:
                options.append([token])
                continue
            found = self.expand(dandiset_id, token, meta_only=meta_only)
            if not found:
                return None
            options.append(sorted(found))
        if math.prod(len(o) for o in options) > self.MAX_COMBINATIONS:
            return phrase(tokens)
        combos = itertools.product(*options)
        return " OR ".join("(" + " + ".join(f'"{w}"' for w in c) + ")" for c in combos)
