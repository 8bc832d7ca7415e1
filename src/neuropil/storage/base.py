"""The blob-store interface.

It is shaped after S3 so an S3 backend with presigned URLs drops in: objects addressed by
key, multipart uploads whose parts clients PUT straight to a URL the store hands out, and
object URLs readable with ``Range``. What a store offers beyond that it declares in
:class:`StoreCapabilities`, and services ask those, never the store's class. Backends that
are not reachable by clients themselves (local disk, memory) have no ``presigned_urls``:
neuropil's own ``/store/`` endpoints serve them, with URLs that neuropil signs.
"""

from __future__ import annotations

import builtins
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from neuropil.core.ranges import ByteRange
from neuropil.errors import StorageError


def blob_key(blob_id: str | uuid.UUID) -> str:
    """DANDI's object-key layout for blobs: ``blobs/abc/def/<uuid>``."""
    s = str(blob_id)
    return f"blobs/{s[0:3]}/{s[3:6]}/{s}"


def validate_key(key: str) -> str:
    """Return ``key`` if it is a valid object key, else raise ``ValueError``.

    Keys are relative POSIX-style paths with no empty, ``.`` or ``..`` segments, so every
    backend can map them onto a filesystem or URL path without escaping its root.
    """
    if (
        not isinstance(key, str)
        or not key
        or "\x00" in key
        or any(p in ("", ".", "..") for p in key.split("/"))
    ):
        raise ValueError(f"invalid object key {key!r}")
    return key


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    #: S3-style ETag: md5 hex for a single PUT, ``md5-of-md5s-N`` for multipart objects.
    etag: str
    modified: datetime


@dataclass(frozen=True)
class PartInfo:
    part_number: int
    size: int
    etag: str


@dataclass(frozen=True)
class MultipartInfo:
    key: str
    multipart_id: str
    initiated: datetime


@dataclass(frozen=True)
class StoreCapabilities:
    """What a store offers beyond the methods every store has."""

    #: Clients talk to the store directly (S3): part PUTs, the upload's completion and
    #: downloads go to URLs the store presigns (``presign_*``, ``object_url``), not
    #: through neuropil.
    presigned_urls: bool = False
    #: Objects are files on this machine: :meth:`BlobStore.local_path` names them, so they
    #: can be served with ``sendfile`` and opened by h5py without ranged reads.
    local_files: bool = False
    #: Objects can be tagged embargoed (:meth:`BlobStore.set_embargoed`, and
    #: ``create_multipart(embargoed=True)``) so that the store itself refuses them to anyone
    #: without a signed URL (S3: DANDI's ``embargoed=true`` tag, which the bucket policy
    #: denies to anonymous readers). Stores whose objects are read only through neuropil,
    #: which checks who may read what, do not need it (local disk, memory).
    embargo_tags: bool = False


class BlobStore(ABC):
    """Content storage for blobs, upload parts and manifests."""

    capabilities: StoreCapabilities = StoreCapabilities()

    # -- objects ---------------------------------------------------------------------------
    @abstractmethod
    def stat(self, key: str) -> ObjectInfo | None:
        """Size, ETag and time of an object, or ``None`` if it does not exist."""

    @abstractmethod
    def read(self, key: str, byte_range: ByteRange | None = None) -> Iterator[bytes]:
        """Stream an object (or a range of it) in chunks. Raises ``KeyError`` if missing."""

    @abstractmethod
    def put(self, key: str, data: bytes) -> ObjectInfo:
        """Store a small object atomically (manifests, tests)."""

    def put_chunks(self, key: str, chunks: Iterable[bytes]) -> ObjectInfo:
        """Store an object from a stream of chunks, atomically; its ETag is their md5.

        The default joins the chunks in memory; backends that can stream override it.
        """
        return self.put(key, b"".join(chunks))

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove an object; removing a missing one is not an error."""

    @abstractmethod
    def list(self, prefix: str = "", *, start_after: str = "") -> Iterator[ObjectInfo]:
        """All objects whose key starts with ``prefix`` and sorts after ``start_after``, in
        key order (code points, which is S3's UTF-8 byte order).

        ``start_after`` is S3's ``StartAfter``: a page of a long listing starts there without
        reading the keys before it (a Zarr of 10,000 keys is listed 1,000 at a time).
        """

    # -- multipart uploads -----------------------------------------------------------------
    @abstractmethod
    def create_multipart(
        self, key: str, *, part_size: int | None = None, embargoed: bool = False
    ) -> str:
        """Start a multipart upload to ``key``; returns its id.

        ``part_size`` is a layout hint: every part but the last will be exactly this big
        (DANDI's part layout guarantees it). A store may use it to write each part straight
        to its final offset, so completing the upload copies nothing; with the hint,
        :meth:`upload_part` refuses a part larger than ``part_size`` and
        :meth:`complete_multipart` refuses a part list that does not fit the layout.

        ``embargoed``: with ``capabilities.embargo_tags``, the object the upload completes
        is tagged embargoed from the moment it exists, whoever completes it (a client, with a
        presigned URL). Other stores ignore it.
        """

    @abstractmethod
    def upload_part(
        self, key: str, multipart_id: str, part_number: int, chunks: Iterable[bytes]
    ) -> PartInfo:
        """Store one part durably (replacing an earlier try); returns its md5 ETag.

        Presigning stores receive parts from clients directly; this path serves the rest
        (and tests).
        """

    @abstractmethod
    def list_parts(self, key: str, multipart_id: str) -> builtins.list[PartInfo]:
        """Parts that have fully arrived, by part number. ``KeyError`` if no such upload."""

    @abstractmethod
    def complete_multipart(
        self, key: str, multipart_id: str, parts: Sequence[PartInfo]
    ) -> ObjectInfo:
        """Assemble ``parts`` (checked against what arrived) into the object at ``key``.

        The object appears atomically and durably; the upload is gone afterwards. Raises
        ``ValueError`` naming the first part that is missing or whose ETag differs.
        """

    @abstractmethod
    def abort_multipart(self, key: str, multipart_id: str) -> None:
        """Drop an upload and its parts; aborting a missing upload is not an error."""

    @abstractmethod
    def list_multipart(self) -> Iterator[MultipartInfo]:
        """Multipart uploads in progress (for garbage collection)."""

    # -- what only some stores offer (see ``capabilities``) -----------------------------------
    def local_path(self, key: str) -> Path | None:
        """The file holding the bytes of ``key`` (``capabilities.local_files``), else ``None``."""
        validate_key(key)
        return None

    def sweep_temporaries(self, older_than: datetime) -> int:
        """Remove the store's own leftovers of a crash older than ``older_than`` (garbage
        collection calls it); returns how many. Stores that leave none have nothing to do."""
        return 0

    def set_embargoed(self, keys: Iterable[str], *, embargoed: bool) -> None:
        """Tag (``embargoed=True``) or untag these objects as embargoed
        (``capabilities.embargo_tags``). Idempotent; keys with no object are skipped. Each
        object may cost a request: callers pass batches (a page of keys), not a whole store.
        """
        raise StorageError(
            f"{type(self).__name__} does not tag objects; check capabilities.embargo_tags first"
        )

    def presign_part(self, key: str, multipart_id: str, part_number: int, expires_in: int) -> str:
        """See :class:`PresigningBlobStore` (``capabilities.presigned_urls``)."""
        raise StorageError(
            f"{type(self).__name__} does not presign URLs; check capabilities.presigned_urls first"
        )

    def presign_complete(self, key: str, multipart_id: str, expires_in: int) -> str:
        """See :class:`PresigningBlobStore` (``capabilities.presigned_urls``)."""
        raise StorageError(
            f"{type(self).__name__} does not presign URLs; check capabilities.presigned_urls first"
        )

    def presign_get(
        self,
        key: str,
        expires_in: int,
        *,
        disposition: str | None = None,
        content_type: str | None = None,
    ) -> str:
        """See :class:`PresigningBlobStore` (``capabilities.presigned_urls``)."""
        raise StorageError(
            f"{type(self).__name__} does not presign URLs; check capabilities.presigned_urls first"
        )

    def object_url(self, key: str) -> str:
        """See :class:`PresigningBlobStore` (``capabilities.presigned_urls``)."""
        raise StorageError(
            f"{type(self).__name__} has no URLs of its own; check capabilities.presigned_urls first"
        )


class PresigningBlobStore(BlobStore):
    """A store that clients reach directly (S3): it hands out its own presigned URLs."""

    capabilities = StoreCapabilities(presigned_urls=True)

    @abstractmethod
    def presign_part(self, key: str, multipart_id: str, part_number: int, expires_in: int) -> str:
        """A URL a client PUTs one part to, without other credentials."""

    @abstractmethod
    def presign_complete(self, key: str, multipart_id: str, expires_in: int) -> str:
        """A URL a client POSTs the CompleteMultipartUpload XML to."""

    @abstractmethod
    def presign_get(
        self,
        key: str,
        expires_in: int,
        *,
        disposition: str | None = None,
        content_type: str | None = None,
    ) -> str:
        """A URL that reads the object (with ``Range``), optionally with response headers."""

    @abstractmethod
    def object_url(self, key: str) -> str:
        """The unsigned URL of a publicly readable object."""
