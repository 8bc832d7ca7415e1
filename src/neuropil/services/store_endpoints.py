"""neuropil standing in for an object store: part PUTs, completion and object reads.

Used when the blob store does not serve clients itself (the local and memory backends).
Requests are authorized by the URL signature alone, exactly like S3 presigned URLs.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from xml.sax.saxutils import escape

import sqlalchemy as sa

from neuropil.core.digests import parts_for_size
from neuropil.db.models import Upload
from neuropil.errors import BadRequest, NotFound, PermissionDenied
from neuropil.services import records, visibility
from neuropil.services.context import Context
from neuropil.services.uploads import S3_NS
from neuropil.storage import PartInfo

MAX_COMPLETE_BODY = 4 << 20


def check_signature(ctx: Context, method: str, key: str, params: Mapping[str, str]) -> None:
    reason = ctx.signer.verify(method, f"/store/{key}", params)
    if reason is not None:
        raise PermissionDenied(reason)


def _upload_for(ctx: Context, key: str, multipart_id: str) -> Upload:
    with ctx.db.read() as s:
        upload = s.scalar(
            sa.select(Upload).where(Upload.key == key, Upload.multipart_id == multipart_id)
        )
    if upload is None:
        raise NotFound("No such upload: it was validated, cancelled or has expired.")
    return upload


def put_part(
    ctx: Context,
    *,
    key: str,
    params: Mapping[str, str],
    chunks: Iterable[bytes],
    content_length: int | None,
) -> PartInfo:
    """Store one part; its size must be exactly the size the upload's layout gives it."""
    check_signature(ctx, "PUT", key, params)
    upload = _upload_for(ctx, key, params.get("uploadId", ""))
    try:
        number = int(params.get("partNumber", ""))
        want = parts_for_size(upload.size)[number - 1]
    except (ValueError, IndexError) as exc:
        raise BadRequest(f"Invalid partNumber {params.get('partNumber')!r}.") from exc
    if number < 1:
        raise BadRequest(f"Invalid partNumber {number}.")
    if content_length is not None and content_length != want.size:
        raise BadRequest(f"Part {number} must be {want.size} bytes; got {content_length}.")

    received = 0

    def counted() -> Iterable[bytes]:
        nonlocal received
        for chunk in chunks:
            received += len(chunk)
            if received > want.size:
                raise BadRequest(f"Part {number} must be {want.size} bytes; got more.")
            yield chunk

    info = ctx.store.upload_part(key, upload.multipart_id, number, counted())
    if info.size != want.size:
        raise BadRequest(
            f"Part {number} must be {want.size} bytes; got {info.size} (the body was cut short)."
        )
    return info


@dataclass(frozen=True)
class CompleteResult:
    key: str
    etag: str


def _parse_complete(body: bytes) -> list[tuple[int, str]]:
    if len(body) > MAX_COMPLETE_BODY:
        raise BadRequest("The CompleteMultipartUpload body is too large.")
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        raise BadRequest(f"Malformed CompleteMultipartUpload XML: {exc}.") from exc
    parts = []
    for part in root.iter():
        if part.tag.rsplit("}", 1)[-1] != "Part":
            continue
        fields = {c.tag.rsplit("}", 1)[-1]: (c.text or "") for c in part}
        try:
            parts.append((int(fields["PartNumber"]), fields["ETag"].strip().strip('"')))
        except (KeyError, ValueError) as exc:
            raise BadRequest("Each <Part> needs a <PartNumber> and an <ETag>.") from exc
    return parts


def complete(ctx: Context, *, key: str, params: Mapping[str, str], body: bytes) -> CompleteResult:
    """Assemble the parts into the object, durably and atomically."""
    check_signature(ctx, "POST", key, params)
    upload = _upload_for(ctx, key, params.get("uploadId", ""))
    listed = _parse_complete(body)
    expected = parts_for_size(upload.size)
    if [n for n, _ in listed] != [p.number for p in expected]:
        raise BadRequest(f"List parts 1..{len(expected)} in order; got {[n for n, _ in listed]}.")
    parts = [
        PartInfo(p.number, p.size, etag) for p, (_, etag) in zip(expected, listed, strict=True)
    ]
    try:
        info = ctx.store.complete_multipart(key, upload.multipart_id, parts)
    except KeyError as exc:
        raise NotFound("No such upload: it was completed, cancelled or has expired.") from exc
    except ValueError as exc:
        raise BadRequest(f"{exc}.") from exc
    return CompleteResult(key, info.etag)


def complete_result_xml(result: CompleteResult, location: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<CompleteMultipartUploadResult xmlns="{S3_NS}">'
        f"<Location>{escape(location)}</Location><Bucket>neuropil</Bucket>"
        f"<Key>{escape(result.key)}</Key><ETag>&quot;{escape(result.etag)}&quot;</ETag>"
        "</CompleteMultipartUploadResult>"
    )


@dataclass(frozen=True)
class ServedObject:
    key: str
    size: int
    etag: str
    modified: datetime
    blob_id: str = ""


def visible_object(ctx: Context, key: str, params: Mapping[str, str] | None = None) -> ServedObject:
    """An object that clients may read: a registered blob (uploads in flight stay hidden).
    An embargoed blob only through a signed URL (``params``, the URL's query: the download
    endpoint hands them out); without them, it is "not found". Any other object (a file of
    an embargoed Zarr) only through a signed URL too, as a store answers a presigned URL:
    the signature, handed out after the reader's check, is the whole authorization."""
    with ctx.db.rows() as s:
        blob = records.blob_by_key(s, key)
    public = blob is not None and visibility.publicly_readable(blob)
    if not public and ctx.signer.verify("GET", f"/store/{key}", params or {}):
        raise NotFound("Not found.")
    info = ctx.store.stat(key)
    if info is None and blob is None:
        raise NotFound("Not found.")
    if info is None:
        raise NotFound("The blob's bytes are missing from storage; tell the archive's admins.")
    if blob is None:
        return ServedObject(key, info.size, info.etag.strip('"'), info.modified)
    return ServedObject(key, info.size, blob.etag, blob.created, blob.blob_id)
