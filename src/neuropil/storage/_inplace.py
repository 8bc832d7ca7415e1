"""In-place multipart uploads for the local store: each part is written at its final offset.

When the part layout is known up front (every part but the last is ``part_size`` bytes, as
DANDI's layout guarantees), an upload folder holds one ``data`` file that parts are written
into with ``pwrite``, plus one small marker per part that has fully arrived::

    multipart/<id>/data           the object being assembled (holes where parts are missing)
    multipart/<id>/<NNNNN>.<md5>  marker: part NNNNN is in ``data``; holds {"size": n}
    multipart/<id>/<NNNNN>.lock   serialises concurrent tries of part NNNNN (flock)

Completing the upload only checks the markers, trims the file and renames it into place:
the bytes are written once, not twice. The invariant that makes this crash-safe: a marker
exists only while the region it names holds exactly the bytes its md5 describes. A try of a
part therefore removes the old marker (durably) before it touches the region, and writes its
own marker only after the region is fsynced. A crash mid-write leaves a region without a
marker, which the client re-sends.

Parts are written around the page cache where the filesystem allows it
(:mod:`neuropil.storage._direct`).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from neuropil.storage._direct import RegionWriter
from neuropil.storage._fs import fsync_dir, write_durably
from neuropil.storage._layout import check_part_fits, check_parts
from neuropil.storage.base import PartInfo

DATA = "data"


def _marker_parts(name: str) -> tuple[int, str] | None:
    num, _, etag = name.partition(".")
    if num.isdigit() and len(etag) == 32:
        return int(num), etag
    return None


@contextlib.contextmanager
def _part_lock(d: Path, part_number: int) -> Iterator[None]:
    with (d / f"{part_number:05d}.lock").open("a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def create(d: Path) -> None:
    """Create the (empty) data file of a new in-place upload folder."""
    (d / DATA).touch()


def write_part(
    d: Path, tmp_dir: Path, part_number: int, part_size: int, chunks: Iterable[bytes]
) -> PartInfo:
    """Write one part at offset ``(part_number - 1) * part_size`` and mark it arrived."""
    offset = (part_number - 1) * part_size
    md5 = hashlib.md5()
    size = 0
    with _part_lock(d, part_number):
        stale = [p for p in d.glob(f"{part_number:05d}.*") if _marker_parts(p.name)]
        for p in stale:
            p.unlink(missing_ok=True)
        if stale:  # the region stops being claimed before a byte of it changes
            fsync_dir(d)
        with RegionWriter(d / DATA, offset) as out:
            for chunk in chunks:
                check_part_fits(part_number, size + len(chunk), part_size)
                md5.update(chunk)
                out.write(chunk)
                size += len(chunk)
        etag = md5.hexdigest()
        write_durably(tmp_dir, d / f"{part_number:05d}.{etag}", json.dumps({"size": size}).encode())
    return PartInfo(part_number, size, etag)


def arrived(d: Path) -> dict[int, PartInfo]:
    """The parts whose markers exist, by part number."""
    parts: dict[int, PartInfo] = {}
    for p in d.iterdir():
        parsed = _marker_parts(p.name)
        if parsed is None:
            continue
        try:
            size = int(json.loads(p.read_text())["size"])
        except FileNotFoundError:  # a newer try of the part removed it meanwhile
            continue
        parts[parsed[0]] = PartInfo(parsed[0], size, parsed[1])
    return parts


def assemble(d: Path, part_size: int, parts: Sequence[PartInfo]) -> Path:
    """Check ``parts`` against the markers and the layout; return the trimmed, fsynced file.

    Raises ``ValueError`` as :func:`~neuropil.storage._layout.check_parts` does.
    """
    total = check_parts(arrived(d), parts, part_size)
    data = d / DATA
    fd = os.open(data, os.O_WRONLY)
    try:
        os.ftruncate(fd, total)  # drop bytes of parts past the last (a client's stray try)
        os.fsync(fd)
    finally:
        os.close(fd)
    return data
