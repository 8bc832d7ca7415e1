"""HTTP byte ranges: one parser for ``Range`` and one formatter for ``Content-Range``."""

from __future__ import annotations

import re
from dataclasses import dataclass

from neuropil.errors import RangeNotSatisfiable

# Range units are case-insensitive (RFC 9110 §14.1).
_RANGE_RE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$", re.ASCII | re.IGNORECASE)
#: Larger than any object (2**63 bytes). Offsets beyond it are compared as this value, so a
#: header with thousands of digits neither overflows a database integer nor trips Python's
#: limit on converting long digit strings (``int()`` of >4300 digits raises ValueError).
_HUGE = 1 << 63


def _offset(digits: str) -> int:
    """A byte offset from ASCII digits, saturating at :data:`_HUGE`."""
    significant = digits.lstrip("0") or "0"
    return _HUGE if len(significant) > 19 else min(int(significant), _HUGE)


@dataclass(frozen=True)
class ByteRange:
    """A half-open byte range ``[start, stop)`` within an object."""

    start: int
    stop: int

    def __post_init__(self) -> None:
        if self.start < 0 or self.stop < self.start:
            raise ValueError(f"invalid byte range [{self.start}, {self.stop})")

    @property
    def length(self) -> int:
        return self.stop - self.start

    def header(self) -> str:
        """The ``Range`` request header value."""
        return f"bytes={self.start}-{self.stop - 1}"

    def content_range(self, size: int) -> str:
        """The ``Content-Range`` response header value."""
        return f"bytes {self.start}-{self.stop - 1}/{size}"


def parse_range_header(value: str | None, size: int) -> ByteRange | None:
    """Resolve a ``Range`` header against an object of ``size`` bytes.

    Returns ``None`` when the whole object should be sent: no header, a syntactically
    invalid one or several ranges (RFC 9110 lets a server ignore those). Raises
    :class:`RangeNotSatisfiable` for a well-formed range that lies past the end.
    """
    if not value:
        return None
    m = _RANGE_RE.fullmatch(value)
    if m is None:
        return None
    first, last = m.group(1), m.group(2)
    if first == "" and last == "":
        return None
    if first == "":  # suffix range: the last N bytes
        n = _offset(last)
        if n == 0 or size == 0:
            raise RangeNotSatisfiable(size)
        return ByteRange(max(0, size - n), size)
    start = _offset(first)
    if last != "" and _offset(last) < start:
        return None  # last < first: syntactically invalid, ignore
    if start >= size:
        raise RangeNotSatisfiable(size)
    stop = size if last == "" else min(_offset(last) + 1, size)
    return ByteRange(start, stop)


_CONTENT_RANGE_RE = re.compile(r"^bytes (\d+)-(\d+)/(\d+|\*)$", re.ASCII)


def parse_content_range(value: str) -> tuple[ByteRange, int | None]:
    """Parse a ``Content-Range`` response header into (range, total size or None)."""
    m = _CONTENT_RANGE_RE.fullmatch(value.strip())
    if m is None:
        raise ValueError(f"malformed Content-Range {value!r}")
    first, last = _offset(m.group(1)), _offset(m.group(2))
    total = None if m.group(3) == "*" else _offset(m.group(3))
    if max(first, last, total or 0) >= _HUGE:
        raise ValueError(f"Content-Range {value[:80]!r} has an offset beyond 2**63")
    if last < first or (total is not None and last >= total):
        raise ValueError(f"Content-Range {value!r} does not lie within the object")
    return ByteRange(first, last + 1), total
