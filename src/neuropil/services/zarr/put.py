"""neuropil standing in for S3's presigned PUT of one Zarr file (``/store/zarr/<id>/<key>``).

Authorized by the URL signature alone, like S3. The file is checked on the way in and
stored atomically: the body must hash to the ``Content-MD5`` the URL was issued for, or the
store keeps what it had (the stream raises before the object is put in place).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Iterator, Mapping

import sqlalchemy as sa

from neuropil.core.zarr_paths import MAX_FILE_BYTES, key_parents, validate_zarr_key
from neuropil.db.models import ZarrArchive, ZarrStatus
from neuropil.db.types import utcnow
from neuropil.errors import BadRequest, Conflict, NotFound, PayloadTooLarge, StorageError
from neuropil.services.context import Context
from neuropil.services.store_endpoints import check_signature
from neuropil.services.zarr import layout
from neuropil.services.zarr.files import INGEST_ERROR, reopen
from neuropil.services.zarr.urls import MD5_PARAM

#: S3's limit for one PUT (DANDI does not upload Zarr files in parts).
MAX_FILE = MAX_FILE_BYTES


def parse_object_key(object_key: str) -> tuple[str, str]:
    """``zarr/<zarr_id>/<key>`` -> ``(zarr_id, key)``."""
    root, _, rest = object_key.partition("/")
    zarr_id, _, key = rest.partition("/")
    if root + "/" != layout.LIVE_ROOT or not zarr_id:
        raise NotFound("Not found.")
    return zarr_id, validate_zarr_key(key)


def _live_pending(ctx: Context, zarr_id: str) -> None:
    with ctx.db.read() as s:  # two columns, not the row: this runs for every file
        row = s.execute(
            sa.select(ZarrArchive.status, ZarrArchive.snapshot_of).where(
                ZarrArchive.zarr_id == zarr_id
            )
        ).first()
    if row is None or row.snapshot_of is not None:
        raise NotFound("No such Zarr archive: it was deleted.")
    if row.status != ZarrStatus.PENDING:
        raise BadRequest(INGEST_ERROR)


def _verified(chunks: Iterable[bytes], md5: str, limit: int) -> Iterator[bytes]:
    """The chunks, raising at the end (before the store commits them) if they do not hash
    to ``md5`` or exceed ``limit`` bytes."""
    h = hashlib.md5()
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"A Zarr file may be at most {limit} bytes.")
        h.update(chunk)
        yield chunk
    if h.hexdigest() != md5:
        raise BadRequest(
            "BadDigest: the body's md5 does not match Content-MD5; nothing was stored."
        )


def put_file(
    ctx: Context,
    *,
    object_key: str,
    params: Mapping[str, str],
    content_md5: str | None,
    content_length: int | None,
    chunks: Iterable[bytes],
) -> str:
    """Store one file of a Pending Zarr; returns its ETag (the md5 hex)."""
    check_signature(ctx, "PUT", object_key, params)
    zarr_id, key = parse_object_key(object_key)
    signed = params.get(MD5_PARAM, "")
    if content_md5 is None or content_md5.strip() != signed:
        raise BadRequest("Send the Content-MD5 header the upload URL was issued for.")
    if content_length is not None and content_length > MAX_FILE:
        raise PayloadTooLarge(f"A Zarr file may be at most {MAX_FILE} bytes (5 GiB).")
    md5 = base64.b64decode(signed).hex()
    _live_pending(ctx, zarr_id)
    etag = store_file(ctx, zarr_id, key, md5, chunks)
    after_write(ctx, zarr_id)
    return etag


def store_file(ctx: Context, zarr_id: str, key: str, md5: str, chunks: Iterable[bytes]) -> str:
    """Write one file of a live Zarr, checked against ``md5`` before it replaces the old one;
    returns its ETag. The caller checked that the Zarr takes files, and calls
    :func:`after_write` once done."""
    for parent in key_parents(key):
        if ctx.store.stat(layout.live_key(zarr_id, parent)) is not None:
            raise Conflict(f"Zarr path {key!r} conflicts with the file {parent!r}.")
    try:
        info = ctx.store.put_chunks(layout.live_key(zarr_id, key), _verified(chunks, md5, MAX_FILE))
    except (IsADirectoryError, NotADirectoryError, FileExistsError) as exc:
        raise Conflict(f"Zarr path {key!r} conflicts with a folder or file of the Zarr.") from exc
    except OSError as exc:
        raise StorageError(f"Storing the Zarr file failed: {exc}") from exc
    return info.etag.strip('"')


def after_write(ctx: Context, zarr_id: str) -> None:
    """A finalize that came after the check above may have missed the file just written.

    Still ``Pending`` after the write: any later finalize lists it, nothing to do (the usual
    case, a read). Otherwise a new token for the ingest, which then lists again (see
    ingest.py), or, if the ingest finished already, the Zarr reopened as after any change."""
    with ctx.db.read() as s:
        status = s.scalar(sa.select(ZarrArchive.status).where(ZarrArchive.zarr_id == zarr_id))
    if status in (None, ZarrStatus.PENDING):
        return
    with ctx.db.write() as s:
        z = s.get(ZarrArchive, zarr_id, with_for_update=True)
        if z is None or z.status == ZarrStatus.PENDING:
            return
        if z.status == ZarrStatus.COMPLETE:
            reopen(ctx, s, z)
        else:
            z.modified = utcnow()
