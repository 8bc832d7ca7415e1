"""What an asset's bytes are: one blob, or one Zarr archive. The one place that decides.

An asset holds exactly one kind of content. Everything that differs by kind (its size, its
digest, its ``contentUrl``, whether it can be downloaded as one file, whether it is ready to
be validated) is answered by a :class:`Content` from :func:`content_of`, so metadata,
listings, the download redirect and validation never test ``blob is None`` themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol
from urllib.parse import quote

from neuropil.core.digests import ETAG_ALGORITHM, SHA256_ALGORITHM
from neuropil.core.zarr_checksum import ZARR_CHECKSUM_ALGORITHM, ZARR_MEDIA_TYPE
from neuropil.services.urls import Urls


class BlobLike(Protocol):
    @property
    def key(self) -> str: ...
    @property
    def etag(self) -> str: ...
    @property
    def sha256(self) -> str | None: ...
    @property
    def size(self) -> int: ...


class ZarrLike(Protocol):
    @property
    def zarr_id(self) -> str: ...
    @property
    def checksum(self) -> str | None: ...
    @property
    def file_count(self) -> int: ...
    @property
    def size(self) -> int: ...


@dataclass(frozen=True)
class ZarrRecord:
    """A Zarr archive as the API shows it (``GET /api/zarr/{id}/``)."""

    zarr_id: str
    name: str
    dandiset: str
    status: str
    checksum: str | None
    file_count: int
    size: int
    #: The live Zarr a published snapshot was taken from; ``None`` for a live Zarr.
    snapshot_of: str | None = None


def zarr_url(urls: Urls, zarr_id: str, key: str = "") -> str:
    """The stable, read-only URL of a Zarr (``key=""``) or of one of its keys.

    Zarr keys are uploaded bytes like blobs, so they are served from the blob origin when
    one is configured (``NEUROPIL_BLOB_BASE_URL``).
    """
    return f"{(urls.blob_base or urls.base).rstrip('/')}/zarr/{zarr_id}/{quote(key)}"


class Content(Protocol):
    """The content of one asset, whatever its kind."""

    @property
    def kind(self) -> str:
        """``"blob"`` or ``"zarr"``."""

    @property
    def size(self) -> int:
        """Bytes held (a Zarr's total once ingested; 0 before)."""

    @property
    def ready(self) -> bool:
        """Whether the digest validation needs is known (sha256; a Zarr's checksum)."""

    @property
    def downloadable(self) -> bool:
        """Whether ``/assets/{id}/download/`` can hand out one object."""

    @property
    def indexable(self) -> bool:
        """Whether it may have a LINDI index (HDF5 files are blobs)."""

    def digest(self) -> dict[str, str]:
        """The asset metadata's ``digest``: what is known of it."""

    def content_urls(self, urls: Urls, asset_id: str) -> list[str]:
        """The asset metadata's ``contentUrl``: the API URL, then the object URL."""

    def object_url(self, urls: Urls) -> str:
        """The unsigned URL of the bytes (a Zarr's key URL prefix)."""

    def encoding_format(self) -> str | None:
        """The ``encodingFormat`` the kind implies, if any."""


@dataclass(frozen=True)
class BlobContent:
    blob: BlobLike
    kind: str = "blob"

    @property
    def size(self) -> int:
        return self.blob.size

    @property
    def ready(self) -> bool:
        return bool(self.blob.sha256)

    @property
    def downloadable(self) -> bool:
        return True

    @property
    def indexable(self) -> bool:
        return True

    def digest(self) -> dict[str, str]:
        digest = {ETAG_ALGORITHM: self.blob.etag}
        if self.blob.sha256:
            digest[SHA256_ALGORITHM] = self.blob.sha256
        return digest

    def content_urls(self, urls: Urls, asset_id: str) -> list[str]:
        return [urls.asset_download(asset_id), self.object_url(urls)]

    def object_url(self, urls: Urls) -> str:
        return urls.object_url(self.blob.key)

    def encoding_format(self) -> str | None:
        return None


@dataclass(frozen=True)
class ZarrContent:
    zarr: ZarrLike
    kind: str = "zarr"

    @property
    def size(self) -> int:
        return self.zarr.size

    @property
    def ready(self) -> bool:
        return self.zarr.checksum is not None

    @property
    def downloadable(self) -> bool:
        return False

    @property
    def indexable(self) -> bool:
        return False

    def digest(self) -> dict[str, str]:
        checksum = self.zarr.checksum
        return {ZARR_CHECKSUM_ALGORITHM: checksum} if checksum else {}

    def content_urls(self, urls: Urls, asset_id: str) -> list[str]:
        return [urls.asset_download(asset_id), self.object_url(urls)]

    def object_url(self, urls: Urls) -> str:
        return zarr_url(urls, self.zarr.zarr_id)

    def encoding_format(self) -> str | None:
        return ZARR_MEDIA_TYPE


def content_of(blob: BlobLike | None, zarr: ZarrLike | None) -> Content | None:
    """The content of an asset with this blob or Zarr (``None``: neither is loaded)."""
    if blob is not None:
        return BlobContent(blob)
    if zarr is not None:
        return ZarrContent(zarr)
    return None


def downloadable_row(zarr_id: str | None) -> bool:
    """Whether an asset row with this ``zarr_id`` downloads as one object, for listings that
    read columns rather than content (the same answer as :attr:`Content.downloadable`)."""
    return zarr_id is None


NOT_DOWNLOADABLE = (
    "This asset is a Zarr archive, not one file: list its files with "
    "/api/zarr/{zarr_id}/files/ or read it at /zarr/{zarr_id}/."
)
