"""The search query parser: operators, phrases, and bad queries with helpful messages."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from neuropil.errors import BadRequest
from neuropil.services.search import postgres_fts, sqlite_fts
from neuropil.services.search.query import OPERATORS, DateRange, Term, parse, words


def test_free_text_words_and_phrases() -> None:
    q = parse('Mouse  "visual cortex" sub-042')
    assert q.terms == [
        Term("Mouse", ("mouse",)),
        Term("visual cortex", ("visual", "cortex")),
        Term("sub-042", ("sub", "042")),
    ]
    assert q.values == {}
    assert not q.empty
    assert parse("   ").empty


@pytest.mark.parametrize("op", ["species", "approach", "technique", "file_type", "owner"])
def test_value_operators(op: str) -> None:
    q = parse(f'{op}:one {op}:"two words" text')
    assert q.values == {op: ["one", "two words"]}
    assert q.terms == [Term("text", ("text",))]


def test_operators_are_case_insensitive_and_repeats_are_alternatives() -> None:
    q = parse("SPECIES:mouse species:rat species:mouse")
    assert q.values == {"species": ["mouse", "rat"]}


def test_file_type_shorthands() -> None:
    q = parse("file_type:nwb file_type:image file_type:application/json")
    assert q.file_types == ["application/x-nwb", "image/", "application/json"]
    assert "owner" not in parse("owner:alice file_type:nwb").asset_filters


def day(y: int, m: int, d: int) -> datetime:
    return datetime(y, m, d, tzinfo=UTC)


def test_dates() -> None:
    q = parse("created_after:2024-01-01 created_before:2024-02-01 modified_after:2025-03-04")
    assert q.created == DateRange(day(2024, 1, 1), day(2024, 2, 1))
    assert q.modified == DateRange(day(2025, 3, 4), None)
    # The tighter bound wins when an operator repeats.
    assert parse("created_after:2024-01-01 created_after:2024-06-01").created.lower == day(
        2024, 6, 1
    )


def test_quoted_text_is_never_an_operator() -> None:
    q = parse('"species:mouse"')
    assert q.values == {}
    assert q.terms[0].tokens == ("species", "mouse")


def test_identifiers_and_urls_are_text() -> None:
    q = parse("DANDI:000123 https://example.org/x 12:30")
    assert [t.tokens for t in q.terms] == [
        ("dandi", "000123"),
        ("https", "example", "org", "x"),
        ("12", "30"),
    ]


@pytest.mark.parametrize(
    ("text", "tokens", "fts5", "tsquery"),
    [
        # Engine syntax alone leaves no word: an empty query, not an error.
        ("*", [], "", None),
        ("'", [], "", None),
        ("%", [], "", None),
        ("\\", [], "", None),
        ("^", [], "", None),
        # Operators of the engines are words; every word is quoted (a prefix when long).
        ("NEAR(", [("near",)], '("near"*)', "(('near':*))"),
        ("OR", [("or",)], '("or")', "(('or'))"),
        (
            "a OR b",
            [("a",), ("or",), ("b",)],
            '("a") OR ("or") OR ("b")',
            "(('a') | ('or') | ('b'))",
        ),
        (
            'x" OR "y',
            [("x",), ("or",), ("y",)],
            '("x") OR ("or") OR ("y")',
            "(('x') | ('or') | ('y'))",
        ),
        (
            "NEAR(a b)",
            [("near", "a"), ("b",)],
            '("near"* + "a") OR ("b")',
            "(('near':* <-> 'a') | ('b'))",
        ),
        ("a*", [("a",)], '("a")', "(('a'))"),
        ("-x", [("x",)], '("x")', "(('x'))"),
        ("it's", [("it", "s")], '("it" + "s")', "(('it' <-> 's'))"),
    ],
)
def test_syntax_of_the_engines_is_plain_text(
    text: str, tokens: list[tuple[str, ...]], fts5: str, tsquery: str | None
) -> None:
    q = parse(text)
    assert [t.tokens for t in q.terms] == tokens
    assert q.empty == (not tokens)
    # What reaches SQLite's MATCH and PostgreSQL's to_tsquery (an empty query reaches neither).
    assert sqlite_fts.any_of(q.terms) == fts5
    if tsquery is not None:
        assert postgres_fts.any_of(q.terms) == tsquery


def test_a_lone_double_quote_is_an_unbalanced_phrase() -> None:
    with pytest.raises(BadRequest, match="unbalanced double quote"):
        parse('"')


def test_words() -> None:
    assert words("Sub-01_ses-A.nwb") == ["sub", "01", "ses", "a", "nwb"]
    assert words("Müller's") == ["müller", "s"]
    assert words("*%'\"") == []


def test_unknown_operator_lists_the_valid_ones() -> None:
    with pytest.raises(BadRequest) as e:
        parse("specie:mouse")
    message = str(e.value)
    assert "specie:" in message and "Did you mean species:?" in message
    for op in OPERATORS:
        assert f"{op}:" in message
    assert "double quotes" in message


def test_missing_value() -> None:
    with pytest.raises(BadRequest, match=r"species: needs a value, for example species:mouse"):
        parse("species: mouse")


@pytest.mark.parametrize("value", ["2024-13-01", "yesterday", "2024-1-1", "20240101"])
def test_bad_dates(value: str) -> None:
    with pytest.raises(BadRequest, match=r"created_after: expects a date as YYYY-MM-DD"):
        parse(f"created_after:{value}")


def test_unbalanced_quote() -> None:
    with pytest.raises(BadRequest, match=r"unbalanced double quote .* character 7"):
        parse('mouse "visual cortex')


def test_limits() -> None:
    with pytest.raises(BadRequest, match="maximum is 1000"):
        parse("x" * 1001)
    with pytest.raises(BadRequest, match="more than 32 terms"):
        parse(" ".join(f"w{i}" for i in range(33)))
