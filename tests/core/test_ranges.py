"""Byte ranges: the ``Range`` parser, ``Content-Range`` and their round trips."""

from __future__ import annotations

import pytest

from neuropil.core.ranges import ByteRange, parse_content_range, parse_range_header
from neuropil.errors import RangeNotSatisfiable

SIZE = 100


@pytest.mark.parametrize(
    ("header", "start", "stop"),
    [
        ("bytes=0-9", 0, 10),
        ("bytes=0-0", 0, 1),
        ("bytes=10-19", 10, 20),
        ("bytes=99-99", 99, 100),
        ("bytes=10-", 10, 100),  # open-ended
        ("bytes=0-", 0, 100),
        ("bytes=90-1000", 90, 100),  # the end is clamped to the object
        ("bytes=-10", 90, 100),  # suffix: the last 10 bytes
        ("bytes=-1", 99, 100),
        ("bytes=-100", 0, 100),
        ("bytes=-1000", 0, 100),  # a suffix longer than the object is all of it
        (" bytes = 5 - 6 ", 5, 7),  # optional white space
        ("Bytes=1-2", 1, 3),  # range units are case-insensitive
    ],
)
def test_satisfiable_ranges(header: str, start: int, stop: int) -> None:
    assert parse_range_header(header, SIZE) == ByteRange(start, stop)


@pytest.mark.parametrize(
    ("header", "size"),
    [
        ("bytes=100-", 100),
        ("bytes=100-200", 100),
        ("bytes=1000-1001", 100),
        ("bytes=-0", 100),  # an empty suffix selects nothing
        ("bytes=0-", 0),  # nothing can be selected from an empty object
        ("bytes=0-0", 0),
        ("bytes=-5", 0),
    ],
)
def test_beyond_the_end(header: str, size: int) -> None:
    with pytest.raises(RangeNotSatisfiable) as info:
        parse_range_header(header, size)
    assert info.value.status_code == 416
    assert info.value.headers == {"Content-Range": f"bytes */{size}"}
    assert f"({size} bytes)" in str(info.value)


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "bytes=",
        "bytes=-",
        "bytes=abc",
        "bytes=1.5-2",
        "bytes=0-1,5-6",  # several ranges: we may send the whole object instead
        "bytes=5-2",  # last < first
        "bytes=200-100",  # last < first, even past the end
        "items=0-1",
        "0-1",
        "bytes 0-1",
        "bytes=+1-2",
        "bytes=\u0661-\u0662",  # non-ASCII digits
    ],
)
def test_garbage_means_whole_object(header: str | None) -> None:
    assert parse_range_header(header, SIZE) is None


def test_byte_range_value() -> None:
    r = ByteRange(10, 20)
    assert r.length == 10
    assert r.header() == "bytes=10-19"
    assert r.content_range(100) == "bytes 10-19/100"
    assert ByteRange(5, 5).length == 0
    for start, stop in [(-1, 5), (5, 4)]:
        with pytest.raises(ValueError, match="invalid byte range"):
            ByteRange(start, stop)


@pytest.mark.parametrize(
    ("start", "stop", "size"), [(0, 1, 1), (0, 100, 100), (10, 20, 100), (99, 100, 100)]
)
def test_round_trips(start: int, stop: int, size: int) -> None:
    r = ByteRange(start, stop)
    assert parse_range_header(r.header(), size) == r
    assert parse_content_range(r.content_range(size)) == (r, size)


def test_content_range_unknown_size() -> None:
    assert parse_content_range("bytes 0-9/*") == (ByteRange(0, 10), None)
    assert parse_content_range(" bytes 5-5/6\r\n") == (ByteRange(5, 6), 6)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "bytes 0-9",
        "bytes */100",
        "bytes=0-9/100",
        "bytes 0-9/x",
        "items 0-9/100",
        "bytes -1-9/10",
    ],
)
def test_malformed_content_range(value: str) -> None:
    with pytest.raises(ValueError, match="malformed Content-Range"):
        parse_content_range(value)


@pytest.mark.parametrize("value", ["bytes 9-0/100", "bytes 0-100/100", "bytes 100-100/100"])
def test_content_range_outside_the_object(value: str) -> None:
    with pytest.raises(ValueError, match="does not lie within the object"):
        parse_content_range(value)


HUGE = "9" * 5000


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (f"bytes=10-{HUGE}", ByteRange(10, SIZE)),  # an end past any object: to the end
        (f"bytes=-{HUGE}", ByteRange(0, SIZE)),  # a suffix longer than any object
        (f"bytes={'0' * 5000}5-9", ByteRange(5, 10)),  # leading zeros are just zeros
    ],
)
def test_offsets_of_thousands_of_digits(header: str, expected: ByteRange) -> None:
    assert parse_range_header(header, SIZE) == expected


def test_a_start_of_thousands_of_digits_is_416() -> None:
    with pytest.raises(RangeNotSatisfiable):
        parse_range_header(f"bytes={HUGE}-", SIZE)


def test_content_range_offsets_past_2_63_are_malformed() -> None:
    with pytest.raises(ValueError, match="beyond"):
        parse_content_range(f"bytes 0-{HUGE}/*")
