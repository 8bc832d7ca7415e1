"""What a search returns: dandisets by relevance, their matching assets, facet counts."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class AssetHit:
    """An asset of a hit's version that matches the query."""

    path: str
    asset_id: str
    size: int


@dataclass
class DandisetHit:
    """A matching dandiset.

    ``version`` is the latest published version while the draft is unchanged since it was
    published (the matched content *is* that version), else ``"draft"``. ``snippet`` is
    plain text (no markup) from the description. ``assets`` holds at most the requested
    number of matching assets, oldest first (the order of upload); ``asset_count`` counts
    them all.
    """

    identifier: str
    name: str
    version: str
    score: float
    snippet: str
    assets: list[AssetHit] = field(default_factory=list)
    asset_count: int = 0


@dataclass
class SearchResult:
    """One page of hits, the total number of matching dandisets, and facet counts
    (``facet -> [(value, number of matching dandisets)]``, most frequent first) over the
    whole result set for ``species``, ``approach``, ``technique`` and ``file_type``."""

    total: int
    hits: list[DandisetHit]
    facets: dict[str, list[tuple[str, int]]]
    page: int = 1
    page_size: int = 20
