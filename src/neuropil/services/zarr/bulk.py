"""Many files of a Zarr in one request, each way: neuropil's own, beside DANDI's protocol.

DANDI's protocol moves a Zarr one file per request (a PUT per upload URL, a GET per key).
Zarr files are kilobytes, so each request costs far more than its bytes. neuropil's client
(:mod:`neuropil.client.zarr_upload`, :mod:`neuropil.client.zarr_download`) sends and fetches
them in batches instead, as tar streams, and falls back to DANDI's way on an archive that
answers 404 (the DANDI Archive):

- ``POST /api/zarr/<id>/archive/``: a tar of regular files, each named by its key, their
  md5s in a global PAX header (``NEUROPIL.md5s``, JSON: key -> md5) or each in its own
  (:data:`MD5_HEADER`). The same rules as upload URLs plus
  PUTs: the owner, a Zarr not being ingested (it goes back to ``Pending``), valid keys that
  do not clash with a file or folder; each file is checked against its md5 before it
  replaces the old one. A batch cut short leaves the files before the cut, as PUTs would.
- ``GET /api/zarr/<id>/archive/?prefix=&after=&limit=``: the files of a live Zarr or a
  snapshot in key order (the listing's page, as a tar), each with its md5 in the header.
"""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Iterable, Iterator
from typing import IO

from neuropil.core.zarr_checksum import ARCHIVE_MD5_HEADER, ARCHIVE_MD5S_HEADER
from neuropil.core.zarr_paths import validate_zarr_key, validate_zarr_prefix
from neuropil.db.models import User, ZarrArchive, ZarrStatus
from neuropil.errors import BadRequest
from neuropil.services.context import Context
from neuropil.services.zarr import files, listing, put
from neuropil.services.zarr.archives import visible_zarr, writable_zarr

MD5_HEADER = ARCHIVE_MD5_HEADER
BLOCK = 512
#: Largest GET range of files.
MAX_LIMIT = 100_000


class _Body(io.RawIOBase):
    """A request body (an iterable of chunks) as the file tarfile reads a stream from."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._buffer = b""

    def readable(self) -> bool:
        return True

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        while not self._buffer:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._buffer = chunk
        n = min(len(b), len(self._buffer))
        b[:n] = self._buffer[:n]
        self._buffer = self._buffer[n:]
        return n


def _member_chunks(f: IO[bytes] | None, size: int) -> Iterator[bytes]:
    left = size
    while left and f is not None:
        chunk = f.read(min(left, 1 << 20))
        if not chunk:
            raise BadRequest("The archive ended inside a file.")
        left -= len(chunk)
        yield chunk


def upload_archive(
    ctx: Context, *, user: User | None, zarr_id: str, chunks: Iterable[bytes]
) -> int:
    """Store the files of a tar stream in a live Zarr; returns how many."""
    with ctx.db.write() as s:
        z = writable_zarr(s, user, zarr_id)
        if z.status in (ZarrStatus.UPLOADED, ZarrStatus.INGESTING):
            raise BadRequest(files.INGEST_ERROR)
        files.reopen(ctx, s, z)
        s.flush()
        s.expunge(z)
    stored = 0
    try:
        with tarfile.open(fileobj=io.BufferedReader(_Body(chunks)), mode="r|") as tar:
            md5s: dict[str, str] | None = None
            for member in tar:
                if md5s is None:  # the global header, if any, is read with the first member
                    md5s = _md5s(tar)
                _store(ctx, z, member, tar, md5s)
                stored += 1
    except tarfile.TarError as exc:
        raise BadRequest(f"Not a tar archive of Zarr files: {exc}") from exc
    finally:
        put.after_write(ctx, z.zarr_id)
    return stored


def _md5s(tar: tarfile.TarFile) -> dict[str, str]:
    text = tar.pax_headers.get(ARCHIVE_MD5S_HEADER)
    if not text:
        return {}
    try:
        md5s = json.loads(text)
    except ValueError as exc:
        raise BadRequest(f"{ARCHIVE_MD5S_HEADER} is not a JSON object of md5s.") from exc
    if not isinstance(md5s, dict):
        raise BadRequest(f"{ARCHIVE_MD5S_HEADER} is not a JSON object of md5s.")
    return md5s


def _store(
    ctx: Context,
    z: ZarrArchive,
    member: tarfile.TarInfo,
    tar: tarfile.TarFile,
    md5s: dict[str, str],
) -> None:
    if not member.isreg():
        raise BadRequest(f"{member.name!r}: a Zarr archive holds regular files only.")
    key = validate_zarr_key(member.name)
    md5 = member.pax_headers.get(MD5_HEADER) or md5s.get(key, "")
    if not isinstance(md5, str):
        md5 = ""
    if len(md5) != 32:
        raise BadRequest(f"{key!r} has no {MD5_HEADER} header (its md5, hex).")
    files.refuse_clashes(ctx, z, [key])
    put.store_file(ctx, z.zarr_id, key, md5, _member_chunks(tar.extractfile(member), member.size))


def download_archive(
    ctx: Context, *, user: User | None, zarr_id: str, prefix: str, after: str, limit: int
) -> Iterator[bytes]:
    """A tar stream of up to ``limit`` files in key order (checks done before it starts)."""
    if not 1 <= limit <= MAX_LIMIT:
        raise BadRequest(f"limit must be between 1 and {MAX_LIMIT}.")
    validate_zarr_prefix(prefix)
    with ctx.db.read() as s:
        z = visible_zarr(s, user, zarr_id)
    found = listing.iter_files(ctx, z, prefix=prefix, after=after)

    def members() -> Iterator[bytes]:
        for n, f in enumerate(found):
            if n == limit:
                break
            info = tarfile.TarInfo(f.key)
            info.size = f.size
            info.mtime = int(f.modified.timestamp())
            info.pax_headers = {MD5_HEADER: f.md5}
            yield info.tobuf(format=tarfile.PAX_FORMAT)
            yield from ctx.store.read(f.object_key)
            if f.size % BLOCK:
                yield b"\0" * (BLOCK - f.size % BLOCK)
        yield b"\0" * (2 * BLOCK)

    return _coalesced(members())


def _coalesced(pieces: Iterator[bytes], size: int = 1 << 20) -> Iterator[bytes]:
    """Pieces joined into chunks of about ``size`` bytes: the response sends each chunk from
    a worker thread, and three pieces per file of a few kilobytes would be a hop each."""
    buffer = bytearray()
    for piece in pieces:
        buffer += piece
        if len(buffer) >= size:
            yield bytes(buffer)
            buffer.clear()
    if buffer:
        yield bytes(buffer)
