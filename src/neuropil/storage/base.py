"""The blob-store interface.

It is shaped after S3 so an S3 backend with presigned URLs drops in: objects addressed by
key, multipart uploads whose parts clients PUT straight to a URL the store hands out, and
object URLs readable with ``Range``. Backends that are not reachable by clients themselves
(local disk, memory) are served by neuropil's own ``/store/`` endpoints; they set
``serves_itself = False`` and the API layer signs URLs for those endpoints.
"""

from __future__ import annotations

import builtins
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from neuropil.core.ranges import ByteRange


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


class BlobStore(ABC):
    """Content storage for blobs, upload parts and manifests."""

    #: True when clients talk to the store directly (S3): it makes its own presigned URLs.
    serves_itself: bool = False

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

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove an object; removing a missing one is not an error."""

    @abstractmethod
    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """All objects whose key starts with ``prefix``, in key order."""

    # -- multipart uploads -----------------------------------------------------------------
    @abstractmethod
    def create_multipart(self, key: str, *, part_size: int | None = None) -> str:
        """Start a multipart upload to ``key``; returns its id.

        ``part_size`` is a layout hint: every part but the last will be exactly this big
        (DANDI's part layout guarantees it). A store may use it to write each part straight
        to its final offset, so completing the upload copies nothing; with the hint,
        :meth:`upload_part` refuses a part larger than ``part_size`` and
        :meth:`complete_multipart` refuses a part list that does not fit the layout.
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


class PresigningBlobStore(BlobStore):
    """A store that clients reach directly (S3): it hands out its own presigned URLs."""

    serves_itself = True

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
