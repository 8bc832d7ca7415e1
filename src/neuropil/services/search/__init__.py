"""Full-text search over dandisets and their assets.

One interface (:class:`SearchEngine`), two engines: SQLite FTS5 on the embedded default,
PostgreSQL ``tsvector`` + GIN on PostgreSQL. Database triggers (migration 0004) keep the
index in the transaction of every write. See docs/design/search.md.

::

    result = search(ctx, user=user, query='mouse species:"Mus musculus"', page=1)
    result.total, result.hits[0].assets, result.facets["species"]
"""

from neuropil.services.search.engine import FACETS, SearchEngine
from neuropil.services.search.query import OPERATORS, Query, Term, parse
from neuropil.services.search.results import AssetHit, DandisetHit, SearchResult
from neuropil.services.search.service import (
    ASSETS_PER_HIT,
    MAX_PAGE_SIZE,
    engine_for,
    search,
    search_conditions,
)

__all__ = [
    "ASSETS_PER_HIT",
    "FACETS",
    "MAX_PAGE_SIZE",
    "OPERATORS",
    "AssetHit",
    "DandisetHit",
    "Query",
    "SearchEngine",
    "SearchResult",
    "Term",
    "engine_for",
    "parse",
    "search",
    "search_conditions",
]
