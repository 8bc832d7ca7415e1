"""dandi-etag and sha256: neuropil's streaming hasher agrees with dandischema byte for byte."""

from __future__ import annotations

import functools
import hashlib
import itertools
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from dandischema.digests.dandietag import DandiETag, PartGenerator

from neuropil.core.digests import (
    EtagHasher,
    Part,
    etag_from_part_md5s,
    file_etag,
    file_sha256,
    parse_etag,
    parse_sha256,
    parts_for_size,
)
from neuropil.errors import BadRequest

MiB = 1 << 20
GiB = 1 << 30
TiB = 1 << 40


@functools.lru_cache(maxsize=1)  # tests in a row share one 64 MiB buffer, not more
def pattern(size: int, seed: int = 0) -> bytes:
    """``size`` cheap bytes whose period (4093, a prime) never lines up with a part."""
    block = bytes((i * 131 + seed * 7 + (i >> 8)) % 256 for i in range(4093))
    return (block * (size // len(block) + 1))[:size]


@functools.cache
def reference_etag(size: int, seed: int) -> str:
    return reference(pattern(size, seed)).as_str()


def reference(data: bytes) -> DandiETag:
    """dandischema's own computation, as the dandi client runs it."""
    etagger = DandiETag(len(data))
    for part in etagger.get_parts():
        etagger.update(data[part.offset : part.offset + part.size])
    return etagger


def feed(data: bytes, sizes: Iterator[int], *, sha256: bool = False) -> EtagHasher:
    hasher = EtagHasher(len(data), sha256=sha256)
    view = memoryview(data)
    pos = 0
    while pos < len(view):
        n = next(sizes)
        hasher.update(view[pos : pos + n])
        pos += n
    return hasher


def fixed(n: int) -> Iterator[int]:
    return itertools.repeat(n)


# -- EtagHasher against dandischema ----------------------------------------------------------
@pytest.mark.parametrize("size", [0, 1, 10, 5 * MiB, 64 * MiB, 64 * MiB + 1], ids=lambda s: f"{s}B")
def test_etag_matches_dandischema(size: int) -> None:
    data = pattern(size)
    want = reference(data)
    hasher = feed(data, fixed(MiB + 7), sha256=size <= 5 * MiB)
    assert hasher.etag() == want.as_str()
    assert hasher.part_md5s == [want.get_part_etag(p) for p in want.get_parts()]
    if size <= 5 * MiB:
        assert hasher.sha256() == hashlib.sha256(data).hexdigest()
    assert hasher.received == size


def test_known_values() -> None:
    assert EtagHasher(0).etag() == "d41d8cd98f00b204e9800998ecf8427e-0"
    h = EtagHasher(3)
    h.update(b"abc")
    # A one-part blob: md5 of the part's md5, never the plain md5 of the bytes.
    assert h.etag() == hashlib.md5(hashlib.md5(b"abc").digest()).hexdigest() + "-1"
    assert h.etag() != hashlib.md5(b"abc").hexdigest()


TWO_PARTS = 64 * MiB + 1000


def random_sizes(seed: int, total: int) -> list[int]:
    rng = random.Random(seed)
    sizes: list[int] = []
    while sum(sizes) < total:
        sizes.append(rng.randrange(1, 3 * MiB))
    return sizes


@pytest.mark.parametrize(
    "sizes",
    [
        pytest.param([TWO_PARTS], id="one-chunk"),
        pytest.param([64 * MiB, 1000], id="on-the-boundary"),
        pytest.param([64 * MiB - 1, 2, 999], id="straddling"),
        pytest.param([1, 64 * MiB - 1, 0, 1, 999], id="tiny-and-empty"),
        pytest.param(random_sizes(7, TWO_PARTS), id="random"),
    ],
)
def test_chunk_boundaries_do_not_matter(sizes: list[int]) -> None:
    data = pattern(TWO_PARTS, seed=3)
    assert feed(data, iter(sizes)).etag() == reference_etag(TWO_PARTS, 3)


def test_random_chunks_across_many_updates() -> None:
    data = pattern(200_000, seed=1)
    rng = random.Random(42)
    hasher = EtagHasher(len(data))
    pos = 0
    while pos < len(data):
        n = rng.choice([0, 1, 2, 3, 100, 4096, 65_537])
        hasher.update(data[pos : pos + n])
        pos += n
    assert hasher.etag() == reference(data).as_str()


def test_more_bytes_than_declared() -> None:
    hasher = EtagHasher(10)
    hasher.update(b"0123456789")
    with pytest.raises(ValueError, match="more than the declared 10 bytes"):
        hasher.update(b"x")


def test_etag_before_all_bytes() -> None:
    hasher = EtagHasher(10)
    hasher.update(b"01234")
    with pytest.raises(ValueError, match="only 5 of 10 bytes were hashed"):
        hasher.etag()


def test_sha256_not_requested() -> None:
    with pytest.raises(ValueError, match="sha256 was not requested"):
        EtagHasher(0).sha256()


# -- part layout -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "size",
    [1, 10, 5 * MiB, 64 * MiB, 64 * MiB + 1, 3 * 64 * MiB, 640 * GiB, 700 * GiB, 5 * TiB],
    ids=lambda s: f"{s}B",
)
def test_parts_follow_dandischema(size: int) -> None:
    parts = parts_for_size(size)
    assert parts == [Part(p.number, p.offset, p.size) for p in PartGenerator.for_file_size(size)]
    assert sum(p.size for p in parts) == size
    assert [p.number for p in parts] == list(range(1, len(parts) + 1))
    assert all(p.offset == parts[0].size * (p.number - 1) for p in parts)


def test_layout_examples() -> None:
    assert parts_for_size(0) == []
    assert parts_for_size(10) == [Part(1, 0, 10)]
    assert parts_for_size(64 * MiB) == [Part(1, 0, 64 * MiB)]
    assert parts_for_size(64 * MiB + 1) == [Part(1, 0, 64 * MiB), Part(2, 64 * MiB, 1)]
    big = parts_for_size(700 * GiB)
    assert len(big) == 10_000
    assert {p.size for p in big[:-1]} == {75_161_928}


def test_layout_limits() -> None:
    with pytest.raises(BadRequest, match="larger than the 5 TiB maximum"):
        parts_for_size(5 * TiB + 1)
    with pytest.raises(BadRequest, match="must not be negative"):
        parts_for_size(-1)


def test_etag_from_part_md5s() -> None:
    md5s = [hashlib.md5(b"a").hexdigest(), hashlib.md5(b"b").hexdigest()]
    raw = hashlib.md5(b"a").digest() + hashlib.md5(b"b").digest()
    assert etag_from_part_md5s(md5s) == hashlib.md5(raw).hexdigest() + "-2"
    assert etag_from_part_md5s([]) == "d41d8cd98f00b204e9800998ecf8427e-0"


# -- parsing ---------------------------------------------------------------------------------
GOOD_ETAG = "0123456789abcdef0123456789abcdef-12345"


def test_parse_etag_valid() -> None:
    assert parse_etag(GOOD_ETAG) == GOOD_ETAG
    assert parse_etag("d41d8cd98f00b204e9800998ecf8427e-0") == "d41d8cd98f00b204e9800998ecf8427e-0"


@pytest.mark.parametrize(
    "value",
    [
        "",
        "0123456789abcdef0123456789abcdef",  # a plain md5: no part count
        "0123456789ABCDEF0123456789ABCDEF-1",  # uppercase
        "0123456789abcdef0123456789abcde-1",  # 31 digits
        "0123456789abcdef0123456789abcdef-123456",  # six-digit count
        "0123456789abcdef0123456789abcdef-",
        '"0123456789abcdef0123456789abcdef-1"',  # quoted
        " 0123456789abcdef0123456789abcdef-1",
        "0123456789abcdef0123456789abcdef-1\n",  # a trailing newline
        "0123456789abcdef0123456789abcdef-\u0661",  # a non-ASCII digit
        None,
        12,
        ["0123456789abcdef0123456789abcdef-1"],
    ],
)
def test_parse_etag_invalid(value: object) -> None:
    with pytest.raises(BadRequest) as info:
        parse_etag(value)
    message = str(info.value)
    assert message.startswith(f"Invalid dandi-etag {value!r}:")
    assert "expected 32 lowercase hex digits, '-', part count" in message
    assert info.value.status_code == 400


def test_parse_sha256() -> None:
    good = hashlib.sha256(b"x").hexdigest()
    assert parse_sha256(good) == good
    for bad in (good.upper(), good[:-1], good + "\n", None, ""):
        with pytest.raises(BadRequest, match="expected 64 lowercase hex digits"):
            parse_sha256(bad)


# -- files -----------------------------------------------------------------------------------
def test_file_digests(tmp_path: Path) -> None:
    data = pattern(3 * MiB + 5)
    f = tmp_path / "blob.bin"
    f.write_bytes(data)
    assert file_etag(f) == DandiETag.from_file(f).as_str() == reference(data).as_str()
    assert file_sha256(str(f)) == hashlib.sha256(data).hexdigest()
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    assert file_etag(empty) == "d41d8cd98f00b204e9800998ecf8427e-0"
