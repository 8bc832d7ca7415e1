"""DANDI's Zarr checksum, ``<md5>-<file count>--<total size>``, as one typed value.

The tree hashing is the ``zarr_checksum`` package's (the field's own definition, as the
official client and the DANDI Archive use it): each folder hashes the sorted JSON list of
its files ``{digest: md5, name, size}`` and sub-folders ``{digest: checksum, name, size}``;
the root folder's checksum is the Zarr's. Server and client both compute it here.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath

from zarr_checksum.tree import ZarrChecksumTree

from neuropil.errors import BadRequest

ZARR_CHECKSUM_ALGORITHM = "dandi:dandi-zarr-checksum"
#: The ``encodingFormat`` of Zarr assets.
ZARR_MEDIA_TYPE = "application/x-zarr"
_CHECKSUM_RE = re.compile(r"^([0-9a-f]{32})-([0-9]+)--([0-9]+)$", re.ASCII)
_MD5_RE = re.compile(r"^[0-9a-f]{32}$", re.ASCII)


@dataclass(frozen=True)
class ZarrChecksum:
    """The checksum of a whole Zarr: the root digest, the file count and the byte count."""

    md5: str
    count: int
    size: int

    @classmethod
    def parse(cls, text: str) -> ZarrChecksum:
        m = _CHECKSUM_RE.match(text)
        if m is None:
            raise BadRequest(f"{text!r} is not a Zarr checksum ('<md5>-<count>--<size>').")
        return cls(m.group(1), int(m.group(2)), int(m.group(3)))

    def __str__(self) -> str:
        return f"{self.md5}-{self.count}--{self.size}"


@dataclass(frozen=True)
class ZarrFile:
    """One file of a Zarr: its key, the md5 of its bytes (hex) and its size."""

    key: str
    md5: str
    size: int


def zarr_checksum(files: Iterable[ZarrFile]) -> ZarrChecksum:
    """The checksum of a Zarr holding ``files`` (in any order; none gives the empty one)."""
    tree = ZarrChecksumTree()
    for f in files:
        # The package keys its tree by Path; a pure POSIX path keeps "\\" a plain character.
        tree.add_leaf(PurePosixPath(f.key), f.size, f.md5)  # type: ignore[arg-type]
    digest = tree.process()
    return ZarrChecksum(digest.md5, digest.count, digest.size)


EMPTY_ZARR_CHECKSUM = zarr_checksum([])


def md5_from_base64(value: object) -> str:
    """The md5 hex of a ``Content-MD5``-style value (base64 of the 16 raw bytes)."""
    if not isinstance(value, str):
        raise BadRequest("'base64md5' must be a string.")
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BadRequest(f"{value[:40]!r} is not a base64-encoded md5.") from exc
    if len(raw) != 16:
        raise BadRequest(f"{value[:40]!r} is not a base64-encoded md5 (16 bytes).")
    return raw.hex()


def md5_to_base64(md5_hex: str) -> str:
    """The ``Content-MD5`` form of an md5 hex digest."""
    if not _MD5_RE.match(md5_hex):
        raise BadRequest(f"{md5_hex[:40]!r} is not an md5 hex digest.")
    return base64.b64encode(bytes.fromhex(md5_hex)).decode("ascii")


#: The PAX header carrying a file's md5 (hex) in neuropil's tar batches of Zarr files
#: (``/api/zarr/<id>/archive/``), both ways.
ARCHIVE_MD5_HEADER = "NEUROPIL.md5"
#: The global PAX header of an uploaded batch: a JSON object, key -> md5 of every file (one
#: header for the batch, so each file needs only its 512-byte tar header).
ARCHIVE_MD5S_HEADER = "NEUROPIL.md5s"
