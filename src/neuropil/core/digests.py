"""Digests used by DANDI: the S3-multipart-style ``dandi-etag`` and sha256.

The part layout comes from :class:`dandischema.digests.dandietag.PartGenerator`, the field's
own definition, so the server's upload parts always match what every client computes.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from dandischema.digests.dandietag import PartGenerator

from neuropil.errors import BadRequest

ETAG_ALGORITHM = "dandi:dandi-etag"
SHA256_ALGORITHM = "dandi:sha2-256"
ETAG_RE = re.compile(r"^[0-9a-f]{32}-\d{1,5}$", re.ASCII)
SHA256_RE = re.compile(r"^[0-9a-f]{64}$", re.ASCII)
MD5_RE = re.compile(r"^[0-9a-f]{32}$", re.ASCII)


@dataclass(frozen=True)
class Part:
    """One part of a multipart upload: 1-based number, byte offset and size."""

    number: int
    offset: int
    size: int


def parts_for_size(size: int) -> list[Part]:
    """The upload parts of a blob of ``size`` bytes, exactly as dandischema lays them out."""
    if size < 0:
        raise BadRequest("contentSize must not be negative.")
    try:
        gen = PartGenerator.for_file_size(size)
    except ValueError as exc:
        raise BadRequest(f"contentSize {size} is larger than the 5 TiB maximum.") from exc
    return [Part(p.number, p.offset, p.size) for p in gen]


def etag_from_part_md5s(md5_hexes: Iterable[str]) -> str:
    """Combine per-part md5 hex digests into the dandi-etag (``md5(md5s)-N``)."""
    raw = [bytes.fromhex(h) for h in md5_hexes]
    return f"{hashlib.md5(b''.join(raw)).hexdigest()}-{len(raw)}"


def parse_etag(value: object) -> str:
    """Validate a dandi-etag string from a request, with a message that says what is wrong."""
    if not isinstance(value, str) or not ETAG_RE.fullmatch(value):
        raise BadRequest(
            f"Invalid dandi-etag {value!r}: expected 32 lowercase hex digits, '-', part count."
        )
    return value


def parse_sha256(value: object) -> str:
    if not isinstance(value, str) or not SHA256_RE.fullmatch(value):
        raise BadRequest(f"Invalid sha256 {value!r}: expected 64 lowercase hex digits.")
    return value


class EtagHasher:
    """Incremental dandi-etag (and optionally sha256) over a stream of bytes in file order.

    Feed bytes with :meth:`update` in order; chunk boundaries need not match part boundaries.
    """

    def __init__(self, size: int, *, sha256: bool = False) -> None:
        self.size = size
        self._parts = parts_for_size(size)
        self._index = 0
        self._remaining = self._parts[0].size if self._parts else 0
        self._md5 = hashlib.md5()
        self._part_md5s: list[str] = []
        self._sha = hashlib.sha256() if sha256 else None
        self.received = 0

    def update(self, data: bytes | memoryview) -> None:
        view = memoryview(data)
        self.received += len(view)
        if self.received > self.size:
            raise ValueError(f"received more than the declared {self.size} bytes")
        if self._sha is not None:
            self._sha.update(view)
        while len(view):
            take = min(self._remaining, len(view))
            self._md5.update(view[:take])
            view = view[take:]
            self._remaining -= take
            if self._remaining == 0:
                self._part_md5s.append(self._md5.hexdigest())
                self._md5 = hashlib.md5()
                self._index += 1
                if self._index < len(self._parts):
                    self._remaining = self._parts[self._index].size

    @property
    def part_md5s(self) -> list[str]:
        return list(self._part_md5s)

    def etag(self) -> str:
        if self.received != self.size:
            raise ValueError(f"only {self.received} of {self.size} bytes were hashed")
        return etag_from_part_md5s(self._part_md5s)

    def sha256(self) -> str:
        if self._sha is None:
            raise ValueError("sha256 was not requested")
        return self._sha.hexdigest()


def iter_file(fobj: BinaryIO, chunk_size: int = 1 << 20) -> Iterator[bytes]:
    while chunk := fobj.read(chunk_size):
        yield chunk


def file_etag(path: Path | str) -> str:
    """The dandi-etag of a local file."""
    p = Path(path)
    hasher = EtagHasher(p.stat().st_size)
    with p.open("rb") as f:
        for chunk in iter_file(f):
            hasher.update(chunk)
    return hasher.etag()


def file_sha256(path: Path | str) -> str:
    h = hashlib.sha256()
    with Path(path).open("rb") as f:
        for chunk in iter_file(f):
            h.update(chunk)
    return h.hexdigest()
