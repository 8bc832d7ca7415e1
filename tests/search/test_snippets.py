"""Snippets are cut at word boundaries and say where they were cut (issue 13)."""

from __future__ import annotations

import httpx
import pytest

from neuropil.services.search.results import ELLIPSIS, SNIPPET_CHARS, clip, framed
from tests.api.helpers import create_dandiset
from tests.search.helpers import find, word


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("short  text\n", 240, "short text"),
        ("records from the archive. hippocampus place cells", 27, "records from the archive…"),
        ("one two, three", 9, "one two…"),  # the comma before the cut goes too
        ("x" * 30, 10, "x" * 10 + ELLIPSIS),  # one giant word is cut anyway
        ("exactly ten", 11, "exactly ten"),
    ],
)
def test_clip(text: str, limit: int, expected: str) -> None:
    assert clip(text, limit) == expected


def test_framed() -> None:
    whole = "Alpha beta gamma delta epsilon."
    assert framed("gamma delta", whole) == f"{ELLIPSIS}gamma delta{ELLIPSIS}"
    assert framed("Alpha beta", whole) == f"Alpha beta{ELLIPSIS}"
    assert framed("delta  epsilon.", whole) == f"{ELLIPSIS}delta epsilon."
    assert framed(whole, whole) == whole
    assert framed("", whole) == whole


def test_a_hit_on_the_name_shows_the_description_cut_at_a_word(
    alice: httpx.Client, anon: httpx.Client
) -> None:
    w = word()
    description = "Recordings shared through the archive. " * 5 + "hippocampus " * 20
    ident = create_dandiset(alice, f"named {w}", {"description": description})
    (hit,) = [h for h in find(anon, w)["results"] if h["identifier"] == ident]
    snippet = hit["snippet"]
    assert snippet.endswith(ELLIPSIS) and len(snippet) <= SNIPPET_CHARS + 1
    last = snippet.removesuffix(ELLIPSIS).split()[-1]
    assert last in description.split()  # a whole word, never "hi"


def test_a_hit_in_the_description_is_an_excerpt_of_whole_words(
    alice: httpx.Client, anon: httpx.Client
) -> None:
    w = word()
    description = " ".join(["lorem"] * 60 + [w] + ["ipsum"] * 60)
    ident = create_dandiset(alice, "excerpt", {"description": description})
    (hit,) = [h for h in find(anon, w)["results"] if h["identifier"] == ident]
    snippet = hit["snippet"]
    assert w in snippet and snippet.startswith(ELLIPSIS) and snippet.endswith(ELLIPSIS)
    inner = snippet.strip(ELLIPSIS).split()
    assert set(inner) <= {"lorem", "ipsum", w}
