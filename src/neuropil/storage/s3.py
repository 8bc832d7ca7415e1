"""The S3 store: blobs in any server that speaks the S3 API (AWS S3, MinIO, Ceph RGW, Garage).

Only calls every S3 implementation offers are made: Get/Head/Put/DeleteObject,
ListObjectsV2, the multipart calls (Create, UploadPart, ListParts, Complete, Abort,
ListMultipartUploads), SigV4 presigned URLs and, for embargoed objects, object tagging
(``x-amz-tagging`` on CreateMultipartUpload, Put/DeleteObjectTagging; it can be turned
off for a server without it). Clients PUT parts, complete uploads and download straight
from the bucket through presigned URLs; neuropil's process never carries blob bytes, except
for what its own jobs read (the sha256, the index) with ranged GETs.

Configuration is the standard AWS one, read by boto3: credentials (``AWS_ACCESS_KEY_ID`` ...,
profiles, instance roles), ``AWS_REGION`` and the endpoint of a non-AWS server
(``AWS_ENDPOINT_URL_S3`` or ``AWS_ENDPOINT_URL``). The bucket and a key prefix come from
``s3://bucket/prefix`` (:meth:`S3BlobStore.from_url`). See ``docs/design/storage-s3.md``.

Embargoed objects carry DANDI's tag ``embargoed=true``, which the bucket policy denies to
anonymous readers (``docs/deployment.md``): a public bucket never serves their bytes, even
to someone who learned a key; presigned URLs, signed with the store's credentials, still
read them. Tags given to CreateMultipartUpload go to the object S3 assembles, so an
upload's object is tagged from the moment a client completes it.

S3 keeps two things differently from the contract, and the store bridges both:

- It binds a multipart upload to its key, but not every S3 server checks that on each call.
  Every call that names an upload first finds it in ListMultipartUploads under its key.
- It stores no per-upload metadata that could be read back before completion, so the
  part-size hint lives in this process (a bounded memory). Uploads through presigned URLs
  never pass it anyway: S3 checks its own part rules and the dandi-etag, which the upload's
  validation compares, fixes the layout.
"""

from __future__ import annotations

import base64
import builtins
import hashlib
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import IO, Any
from urllib.parse import urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from neuropil.core.digests import etag_from_part_md5s
from neuropil.core.ranges import ByteRange
from neuropil.errors import StorageError
from neuropil.storage._layout import check_part_fits, check_parts
from neuropil.storage.base import (
    MultipartInfo,
    ObjectInfo,
    PartInfo,
    PresigningBlobStore,
    StoreCapabilities,
    validate_key,
)

READ_CHUNK = 1 << 20
#: Part and object bodies are gathered in memory up to this size, then in a temporary file:
#: S3 wants the length (and we send the md5) before the first byte.
SPOOL_IN_MEMORY = 8 << 20
#: The largest single PUT S3 accepts.
MAX_PUT = 5 << 30
#: SigV4 presigned URLs live at most seven days.
MAX_PRESIGN = 7 * 24 * 3600
#: Part-size hints remembered (uploads completed by clients directly are never forgotten).
HINTS_KEPT = 10_000
#: User metadata with the dandi-etag of an object S3 did not assemble (an upload of no parts).
ETAG_META = "neuropil-etag"
#: DANDI's tag on embargoed objects (``s3:ExistingObjectTag/embargoed`` in the bucket policy).
EMBARGO_TAG = {"Key": "embargoed", "Value": "true"}
#: Tag requests in flight at once: S3 tags one object per request.
TAG_THREADS = 16

_NOT_FOUND = frozenset({"404", "NoSuchKey", "NotFound", "NoSuchUpload"})
_BAD_PARTS = frozenset({"InvalidPart", "InvalidPartOrder", "EntityTooSmall"})


def parse_s3_url(url: str) -> tuple[str, str]:
    """``s3://bucket[/prefix]`` as ``(bucket, prefix)``; the prefix is ``""`` or ends in ``/``."""
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc or parts.query or parts.fragment:
        raise ValueError(f"{url!r} is not an S3 location; use the form s3://bucket/prefix")
    return parts.netloc, _normalize_prefix(parts.path.strip("/"))


def _normalize_prefix(prefix: str) -> str:
    prefix = prefix.strip("/")
    if not prefix:
        return ""
    try:
        return validate_key(prefix) + "/"
    except ValueError as exc:
        raise ValueError(f"invalid S3 key prefix {prefix!r}") from exc


def make_client(*, endpoint_url: str | None = None, **session: Any) -> Any:
    """A boto3 S3 client, configured from the standard AWS environment.

    ``session`` (credentials, region, profile) and ``endpoint_url`` override the
    environment. Checksums are sent only where S3 requires them: newer boto3 adds CRC
    trailers to every upload by default, which not every S3-compatible server accepts.
    """
    config = Config(
        signature_version="s3v4",
        retries={"mode": "standard", "max_attempts": 5},
        max_pool_connections=32,
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    return boto3.session.Session(**session).client("s3", endpoint_url=endpoint_url, config=config)


def _code(exc: Exception) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def _md5_header(md5: Any) -> str:
    return base64.b64encode(md5.digest()).decode()


def _spool(chunks: Iterable[bytes], check: Callable[[int], None]) -> tuple[IO[bytes], int, Any]:
    """The body as a rewound file, its size and its md5; ``check(size)`` runs per chunk."""
    f: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115
    md5 = hashlib.md5()
    size = 0
    try:
        for chunk in chunks:
            size += len(chunk)
            check(size)
            md5.update(chunk)
            f.write(chunk)
    except BaseException:
        f.close()
        raise
    f.seek(0)
    return f, size, md5


class S3BlobStore(PresigningBlobStore):
    """Objects under ``prefix`` in one S3 bucket; ``client`` defaults to :func:`make_client`.

    ``embargo_tags=False`` for a server that has no object tagging (Garage): embargoed
    objects are then not tagged, and the bucket must not be readable anonymously.
    """

    capabilities = StoreCapabilities(presigned_urls=True, embargo_tags=True)

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        client: Any | None = None,
        embargo_tags: bool = True,
    ) -> None:
        self.bucket = bucket
        self.prefix = _normalize_prefix(prefix)
        self._s3 = client if client is not None else make_client()
        self._hints: OrderedDict[str, int] = OrderedDict()
        self._lock = threading.Lock()
        if not embargo_tags:
            self.capabilities = StoreCapabilities(presigned_urls=True)

    @classmethod
    def from_url(
        cls, url: str, *, client: Any | None = None, embargo_tags: bool = True
    ) -> S3BlobStore:
        """The store at ``s3://bucket/prefix``."""
        bucket, prefix = parse_s3_url(url)
        return cls(bucket, prefix, client=client, embargo_tags=embargo_tags)

    def __repr__(self) -> str:
        return f"S3BlobStore('s3://{self.bucket}/{self.prefix}')"

    # -- helpers ---------------------------------------------------------------------------
    def _full(self, key: str) -> str:
        return self.prefix + validate_key(key)

    def _own(self, full: str) -> str | None:
        """The store key of a bucket key, or ``None`` for one this store would never make."""
        key = full[len(self.prefix) :]
        try:
            return validate_key(key) if full.startswith(self.prefix) else None
        except ValueError:
            return None

    def _failure(self, exc: Exception, what: str) -> Exception:
        """The contract's error for an S3 failure: ``KeyError`` for what does not exist,
        ``ValueError`` for a refused part list, :class:`StorageError` for the rest."""
        code = _code(exc)
        if code in _NOT_FOUND:
            return KeyError(what)
        if code in _BAD_PARTS:
            return ValueError(f"S3 refused the parts of {what}: {exc}")
        return StorageError(f"S3 bucket {self.bucket!r}: {what} failed: {exc}")

    def _info(self, key: str, size: int, etag: str, modified: datetime) -> ObjectInfo:
        # Seconds only: HEAD answers an HTTP date, a listing may add milliseconds.
        return ObjectInfo(key, size, etag.strip('"'), _utc(modified).replace(microsecond=0))

    def _put_body(self, key: str, body: IO[bytes] | bytes, size: int, md5: Any) -> ObjectInfo:
        if size > MAX_PUT:
            raise ValueError(f"{key}: {size} bytes is more than one S3 PUT takes ({MAX_PUT})")
        try:
            self._s3.put_object(
                Bucket=self.bucket,
                Key=self._full(key),
                Body=body,
                ContentLength=size,
                ContentMD5=_md5_header(md5),
            )
        except (ClientError, BotoCoreError) as exc:
            raise self._failure(exc, f"writing {key}") from exc
        return self._stat_written(key)

    def _stat_written(self, key: str) -> ObjectInfo:
        info = self.stat(key)
        if info is None:
            raise StorageError(f"S3 bucket {self.bucket!r} lost {key} right after writing it")
        return info

    # -- objects ---------------------------------------------------------------------------
    def stat(self, key: str) -> ObjectInfo | None:
        full = self._full(key)
        try:
            head = self._s3.head_object(Bucket=self.bucket, Key=full)
        except (ClientError, BotoCoreError) as exc:
            if _code(exc) in _NOT_FOUND:
                return None
            raise self._failure(exc, f"reading {key}") from exc
        etag = (head.get("Metadata") or {}).get(ETAG_META) or head["ETag"]
        return self._info(key, int(head["ContentLength"]), etag, head["LastModified"])

    def read(self, key: str, byte_range: ByteRange | None = None) -> Iterator[bytes]:
        if byte_range is not None and byte_range.length == 0:  # S3 has no empty Range
            if self.stat(key) is None:
                raise KeyError(key)
            return iter(())
        params = {"Bucket": self.bucket, "Key": self._full(key)}
        if byte_range is not None:
            params["Range"] = byte_range.header()
        try:
            body = self._s3.get_object(**params)["Body"]
        except (ClientError, BotoCoreError) as exc:
            if _code(exc) == "InvalidRange":  # starts past the end: nothing there
                return iter(())
            raise self._failure(exc, f"reading {key}") from exc
        return self._chunks(key, body)

    def _chunks(self, key: str, body: Any) -> Iterator[bytes]:
        try:
            for chunk in body.iter_chunks(READ_CHUNK):
                if chunk:
                    yield chunk
        except BotoCoreError as exc:  # the connection broke or the body was cut short
            raise StorageError(f"S3 bucket {self.bucket!r}: reading {key} failed: {exc}") from exc
        finally:
            body.close()

    def put(self, key: str, data: bytes) -> ObjectInfo:
        validate_key(key)
        return self._put_body(key, bytes(data), len(data), hashlib.md5(data))

    def put_chunks(self, key: str, chunks: Iterable[bytes]) -> ObjectInfo:
        validate_key(key)
        body, size, md5 = _spool(chunks, lambda _: None)
        with body:
            return self._put_body(key, body, size, md5)

    def delete(self, key: str) -> None:
        full = self._full(key)
        try:
            self._s3.delete_object(Bucket=self.bucket, Key=full)
        except (ClientError, BotoCoreError) as exc:
            raise self._failure(exc, f"deleting {key}") from exc

    def list(self, prefix: str = "", *, start_after: str = "") -> Iterator[ObjectInfo]:
        params = {"Bucket": self.bucket, "Prefix": self.prefix + prefix}
        if start_after:
            params["StartAfter"] = self.prefix + start_after
        pages = self._s3.get_paginator("list_objects_v2").paginate(**params)
        for obj in self._paged(pages, "Contents", f"listing {prefix!r}"):
            key = self._own(obj["Key"])
            if key is None:
                continue
            if obj["Size"] == 0:  # may carry a dandi-etag of its own (see ETAG_META)
                info = self.stat(key)
                if info is not None:
                    yield info
                continue
            yield self._info(key, int(obj["Size"]), obj["ETag"], obj["LastModified"])

    def set_embargoed(self, keys: Iterable[str], *, embargoed: bool) -> None:
        if not self.capabilities.embargo_tags:
            raise StorageError(f"{self!r} tags no objects: it was made with embargo_tags=False")
        fulls = [self._full(key) for key in keys]
        if len(fulls) < 2:
            for full in fulls:
                self._tag(full, embargoed)
            return
        with ThreadPoolExecutor(min(TAG_THREADS, len(fulls))) as pool:
            for _ in pool.map(lambda full: self._tag(full, embargoed), fulls):
                pass

    def _tag(self, full: str, embargoed: bool) -> None:
        """Put DANDI's tag on one object, or take its tags off (neuropil owns the tag set
        of its objects); an object that is gone needs neither."""
        try:
            if embargoed:
                self._s3.put_object_tagging(
                    Bucket=self.bucket, Key=full, Tagging={"TagSet": [EMBARGO_TAG]}
                )
            else:
                self._s3.delete_object_tagging(Bucket=self.bucket, Key=full)
        except (ClientError, BotoCoreError) as exc:
            if _code(exc) in _NOT_FOUND:
                return
            what = "tagging" if embargoed else "untagging"
            raise self._failure(exc, f"{what} {full[len(self.prefix) :]}") from exc

    def _paged(self, pages: Any, field: str, what: str) -> Iterator[dict[str, Any]]:
        """The ``field`` items of every page; failures fetching a page become ours."""
        try:
            for page in pages:
                yield from page.get(field) or []
        except (ClientError, BotoCoreError) as exc:
            raise self._failure(exc, what) from exc

    # -- multipart -------------------------------------------------------------------------
    def create_multipart(
        self, key: str, *, part_size: int | None = None, embargoed: bool = False
    ) -> str:
        full = self._full(key)
        if part_size is not None and part_size < 1:
            raise ValueError(f"part size {part_size} must be positive")
        params = {"Bucket": self.bucket, "Key": full}
        if embargoed and self.capabilities.embargo_tags:
            # The completed object gets the upload's tags: embargoed before it exists.
            params["Tagging"] = f"{EMBARGO_TAG['Key']}={EMBARGO_TAG['Value']}"
        try:
            multipart_id = str(self._s3.create_multipart_upload(**params)["UploadId"])
        except (ClientError, BotoCoreError) as exc:
            raise self._failure(exc, f"starting an upload to {key}") from exc
        if part_size is not None:
            with self._lock:
                self._hints[multipart_id] = part_size
                while len(self._hints) > HINTS_KEPT:
                    self._hints.popitem(last=False)
        return multipart_id

    def _hint(self, multipart_id: str) -> int | None:
        with self._lock:
            return self._hints.get(multipart_id)

    def _forget(self, multipart_id: str) -> None:
        with self._lock:
            self._hints.pop(multipart_id, None)

    def _uploads(self, prefix: str) -> Iterator[dict[str, Any]]:
        pages = self._s3.get_paginator("list_multipart_uploads").paginate(
            Bucket=self.bucket, Prefix=prefix
        )
        return self._paged(pages, "Uploads", "listing uploads")

    def _check_upload(self, key: str, multipart_id: str) -> str:
        """The bucket key of upload ``multipart_id`` of ``key``; ``KeyError`` if none."""
        full = self._full(key)
        if multipart_id and any(
            u["Key"] == full and u["UploadId"] == multipart_id for u in self._uploads(full)
        ):
            return full
        raise KeyError(f"no multipart upload {multipart_id!r} for {key}")

    def upload_part(
        self, key: str, multipart_id: str, part_number: int, chunks: Iterable[bytes]
    ) -> PartInfo:
        full = self._check_upload(key, multipart_id)
        if not 1 <= part_number <= 10_000:
            raise ValueError(f"part number {part_number} is outside 1..10000")
        hint = self._hint(multipart_id)
        body, size, md5 = _spool(chunks, lambda n: check_part_fits(part_number, n, hint))
        with body:
            try:
                self._s3.upload_part(
                    Bucket=self.bucket,
                    Key=full,
                    UploadId=multipart_id,
                    PartNumber=part_number,
                    Body=body,
                    ContentLength=size,
                    ContentMD5=_md5_header(md5),
                )
            except (ClientError, BotoCoreError) as exc:
                raise self._failure(exc, f"part {part_number} of {key}") from exc
        return PartInfo(part_number, size, md5.hexdigest())

    def _parts(self, key: str, full: str, multipart_id: str) -> builtins.list[PartInfo]:
        pages = self._s3.get_paginator("list_parts").paginate(
            Bucket=self.bucket, Key=full, UploadId=multipart_id
        )
        return [
            PartInfo(int(p["PartNumber"]), int(p["Size"]), str(p["ETag"]).strip('"'))
            for p in self._paged(pages, "Parts", f"listing the parts of {key}")
        ]

    def list_parts(self, key: str, multipart_id: str) -> builtins.list[PartInfo]:
        full = self._check_upload(key, multipart_id)
        return self._parts(key, full, multipart_id)

    def complete_multipart(
        self, key: str, multipart_id: str, parts: Sequence[PartInfo]
    ) -> ObjectInfo:
        full = self._check_upload(key, multipart_id)
        arrived = {p.part_number: p for p in self._parts(key, full, multipart_id)}
        check_parts(arrived, parts, self._hint(multipart_id))
        etags = [p.etag.strip('"') for p in parts]
        if not parts:  # S3 completes no upload of zero parts: the empty object, tagged
            info = self._put_empty(key, etag_from_part_md5s([]))
            self.abort_multipart(key, multipart_id)
            return info
        listed = [
            {"PartNumber": p.part_number, "ETag": f'"{e}"'}
            for p, e in zip(parts, etags, strict=True)
        ]
        try:
            self._s3.complete_multipart_upload(
                Bucket=self.bucket,
                Key=full,
                UploadId=multipart_id,
                MultipartUpload={"Parts": listed},
            )
        except (ClientError, BotoCoreError) as exc:
            raise self._failure(exc, f"completing {key}") from exc
        self._forget(multipart_id)
        return self._stat_written(key)

    def _put_empty(self, key: str, etag: str) -> ObjectInfo:
        try:
            self._s3.put_object(
                Bucket=self.bucket, Key=self._full(key), Body=b"", Metadata={ETAG_META: etag}
            )
        except (ClientError, BotoCoreError) as exc:
            raise self._failure(exc, f"writing {key}") from exc
        return self._stat_written(key)

    def abort_multipart(self, key: str, multipart_id: str) -> None:
        try:
            full = self._check_upload(key, multipart_id)
        except KeyError:
            return
        self._forget(multipart_id)
        try:
            self._s3.abort_multipart_upload(Bucket=self.bucket, Key=full, UploadId=multipart_id)
        except (ClientError, BotoCoreError) as exc:
            if _code(exc) != "NoSuchUpload":
                raise self._failure(exc, f"aborting the upload to {key}") from exc

    def list_multipart(self) -> Iterator[MultipartInfo]:
        for upload in self._uploads(self.prefix):
            key = self._own(upload["Key"])
            if key is not None:
                yield MultipartInfo(key, str(upload["UploadId"]), _utc(upload["Initiated"]))

    # -- presigned URLs --------------------------------------------------------------------
    def _presign(self, method: str, http_method: str, expires_in: int, **params: Any) -> str:
        return str(
            self._s3.generate_presigned_url(
                ClientMethod=method,
                Params={"Bucket": self.bucket, **params},
                ExpiresIn=min(expires_in, MAX_PRESIGN),
                HttpMethod=http_method,
            )
        )

    def presign_part(self, key: str, multipart_id: str, part_number: int, expires_in: int) -> str:
        return self._presign(
            "upload_part",
            "PUT",
            expires_in,
            Key=self._full(key),
            UploadId=multipart_id,
            PartNumber=part_number,
        )

    def presign_complete(self, key: str, multipart_id: str, expires_in: int) -> str:
        return self._presign(
            "complete_multipart_upload",
            "POST",
            expires_in,
            Key=self._full(key),
            UploadId=multipart_id,
        )

    def presign_get(
        self,
        key: str,
        expires_in: int,
        *,
        disposition: str | None = None,
        content_type: str | None = None,
    ) -> str:
        headers = {}
        if disposition:
            headers["ResponseContentDisposition"] = disposition
        if content_type:
            headers["ResponseContentType"] = content_type
        return self._presign("get_object", "GET", expires_in, Key=self._full(key), **headers)

    def presign_put(self, key: str, expires_in: int, *, content_md5: str) -> str:
        """A URL a client PUTs one whole object to; it must send this ``Content-MD5``
        (base64), which the signature covers (Zarr files)."""
        return self._presign(
            "put_object", "PUT", expires_in, Key=self._full(key), ContentMD5=content_md5
        )

    def object_url(self, key: str) -> str:
        # As DANDI: the presigned URL without its query (readable if the bucket lets anyone).
        return self.presign_get(key, 60).split("?", 1)[0]
