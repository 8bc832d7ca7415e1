"""What a search returns: dandisets by relevance, their matching assets, facet counts."""

from __future__ import annotations

from dataclasses import dataclass, field

#: The longest snippet shown when the description holds no matched word (its opening).
SNIPPET_CHARS = 240
ELLIPSIS = "…"
#: Trailing punctuation dropped where a snippet is cut (``"the archive, …"`` reads badly).
_CUT_PUNCTUATION = " .,;:-([{\"'"


def clip(text: str, limit: int = SNIPPET_CHARS) -> str:
    """``text`` with runs of white space made single, cut to at most ``limit`` characters
    at a word boundary, with an ellipsis when anything was cut (never mid-word: not
    "... the archive. hi" for "hippocampus")."""
    words = " ".join(text.split())
    if len(words) <= limit:
        return words
    cut = words[: limit + 1]
    space = cut.rfind(" ")
    head = cut[:space] if space > 0 else words[:limit]  # one giant word: cut it anyway
    return head.rstrip(_CUT_PUNCTUATION) + ELLIPSIS


def framed(fragment: str, whole: str) -> str:
    """A fragment of ``whole`` (an excerpt around the matched words) with an ellipsis on
    each side where ``whole`` goes on."""
    fragment, whole = " ".join(fragment.split()), " ".join(whole.split())
    if not fragment:
        return clip(whole)
    start = whole.find(fragment)
    if start < 0:
        return fragment
    before = ELLIPSIS if start > 0 else ""
    after = ELLIPSIS if start + len(fragment) < len(whole) else ""
    return f"{before}{fragment}{after}"


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
