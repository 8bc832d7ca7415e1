"""The search query language: free text, quoted phrases and DANDI's operators.

``mouse "visual cortex" species:"Mus musculus" created_after:2024-01-01`` parses into free-text
terms (each a list of lower-case word tokens; a quoted phrase keeps its words together) and
filters. The parser is the only place that reads user text: the engines receive tokens made
of letters and digits only, so nothing the user types reaches FTS5 ``MATCH`` or
``to_tsquery`` syntax (``"``, ``*``, ``NEAR(``, ``OR``, ``'``, ``%`` are separators or plain
words).

Repeated value operators (``species:mouse species:rat``) mean *either*, like ticking two
boxes of a facet; different operators and free-text terms must all hold.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from neuropil.errors import BadRequest

#: Operators whose value is matched against dandiset/asset metadata values.
VALUE_OPERATORS = ("species", "approach", "technique", "file_type", "owner")
#: Operators whose value is a date (``YYYY-MM-DD``, UTC).
DATE_OPERATORS = ("created_after", "created_before", "modified_after", "modified_before")
OPERATORS = VALUE_OPERATORS + DATE_OPERATORS

#: ``file_type:`` shorthands, as on DANDI; any other value is a MIME type prefix.
FILE_TYPES = {
    "nwb": "application/x-nwb",
    "image": "image/",
    "text": "text/",
    "video": "video/",
}

MAX_QUERY = 1000
MAX_TERMS = 32
#: Word prefixes shorter than this are matched as whole words: ``0*`` would touch every
#: subject number of the archive for no useful result.
MIN_PREFIX = 3

_WORD = re.compile(r"[^\W_]+")
# One token of the query: a quoted phrase, an operator with a quoted value, or a bare word.
_TOKEN = re.compile(r'"(?P<phrase>[^"]*)"|(?P<op>[A-Za-z_]+):"(?P<qval>[^"]*)"|(?P<word>[^\s"]+)')
# Words that look like ``name:value`` but are text: identifiers and URLs.
_TEXT_PREFIXES = ("dandi", "http", "https", "doi", "orcid", "ror", "spdx", "dcite")


def words(text: str) -> list[str]:
    """Lower-case word tokens (letters and digits) of ``text``: the engines' only input."""
    return [w.lower() for w in _WORD.findall(text)]


@dataclass(frozen=True)
class Term:
    """A free-text term: one word, or several that must appear in this order."""

    text: str
    tokens: tuple[str, ...]

    def prefixed(self, index: int) -> bool:
        """Whether token ``index`` may match as a prefix (``mous`` finds ``mouse``)."""
        return len(self.tokens[index]) >= MIN_PREFIX


@dataclass(frozen=True)
class DateRange:
    """``lower <= t < upper`` (either end open); built from the date operators."""

    lower: datetime | None = None
    upper: datetime | None = None


@dataclass
class Query:
    """A parsed query. ``values`` maps a value operator to its alternatives (any matches)."""

    terms: list[Term] = field(default_factory=list)
    values: dict[str, list[str]] = field(default_factory=dict)
    created: DateRange = DateRange()
    modified: DateRange = DateRange()

    @property
    def empty(self) -> bool:
        return not self.terms and not self.values and self.created == self.modified == DateRange()

    @property
    def asset_filters(self) -> dict[str, list[str]]:
        """The operators that also select which assets are listed under a dandiset."""
        return {k: v for k, v in self.values.items() if k != "owner"}

    @property
    def file_types(self) -> list[str]:
        """``file_type:`` values as lower-case MIME type prefixes."""
        return [FILE_TYPES.get(v.lower(), v.lower()) for v in self.values.get("file_type", [])]


def _help() -> str:
    return (
        "Valid operators are "
        + ", ".join(f"{op}:" for op in OPERATORS)
        + '; put text containing ":" in double quotes to search for it as words.'
    )


def _parse_date(op: str, value: str) -> datetime:
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise BadRequest(
            f"{op}: expects a date as YYYY-MM-DD (for example {op}:2024-01-31), not {value!r}."
        ) from None
    if len(value) != 10:
        raise BadRequest(f"{op}: expects a date as YYYY-MM-DD, not {value!r}.")
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _check_quotes(text: str) -> None:
    if text.count('"') % 2:
        at = text.rfind('"')
        raise BadRequest(
            f"The query has an unbalanced double quote (the one at character {at + 1}): "
            'close the phrase with another " or remove it.'
        )


def _add_date(query: Query, op: str, value: str) -> None:
    when = _parse_date(op, value)
    which, side = op.split("_")
    current: DateRange = getattr(query, which)
    if side == "after":  # "after 2024-01-31" includes that whole day
        bound = max(when, current.lower) if current.lower else when
        setattr(query, which, DateRange(bound, current.upper))
    else:  # "before 2024-01-31" ends as that day begins
        bound = min(when, current.upper) if current.upper else when
        setattr(query, which, DateRange(current.lower, bound))


def _add_operator(query: Query, op: str, value: str) -> None:
    name = op.lower()
    if name not in OPERATORS:
        close = [o for o in OPERATORS if o.startswith(name[:3])]
        hint = f" Did you mean {close[0]}:?" if close else ""
        raise BadRequest(f"Unknown search operator {op}:.{hint} {_help()}")
    value = value.strip()
    if not value:
        raise BadRequest(f'{name}: needs a value, for example {name}:mouse or {name}:"two words".')
    if name in DATE_OPERATORS:
        _add_date(query, name, value)
    elif value not in query.values.setdefault(name, []):
        query.values[name].append(value)


def _add_term(query: Query, text: str) -> None:
    tokens = tuple(words(text))
    if not tokens:  # punctuation only ("*", "%", "'"): nothing to look for
        return
    if len(query.terms) >= MAX_TERMS:
        raise BadRequest(f"The query has more than {MAX_TERMS} terms; remove some words.")
    query.terms.append(Term(text, tokens))


def parse(text: str) -> Query:
    """Parse a search query; a query that cannot be understood raises :class:`BadRequest`
    with a message saying what to change."""
    if len(text) > MAX_QUERY:
        raise BadRequest(f"The query is {len(text)} characters long; the maximum is {MAX_QUERY}.")
    _check_quotes(text)
    query = Query()
    for m in _TOKEN.finditer(text):
        if m["phrase"] is not None:
            _add_term(query, m["phrase"])
        elif m["op"] is not None:
            _add_operator(query, m["op"], m["qval"])
        else:
            word = m["word"]
            name, colon, value = word.partition(":")
            if colon and re.fullmatch(r"[A-Za-z_]+", name) and name.lower() not in _TEXT_PREFIXES:
                _add_operator(query, name, value)
            else:
                _add_term(query, word)
    return query
