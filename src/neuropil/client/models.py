"""Typed records of the API's JSON: Dandisets, versions and assets.

They are small dataclasses built with ``from_json`` from what any DANDI-API server answers.
The records are leaves: every action (listing assets, downloading, opening, publishing,
deleting) is a public method of the :class:`~neuropil.client.archive.Archive` façade. For
convenience :class:`Dandiset` and :class:`Asset` keep the archive that listed them and offer
the common actions as methods (``ds.assets()``, ``asset.download(...)``); each only calls
the façade through :class:`ArchiveActions`, so this module imports neither the façade nor
the machinery behind it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from neuropil.client.download_records import DownloadResult, RemoteEntry
from neuropil.client.events import ProgressCallback
from neuropil.core.digests import ETAG_ALGORITHM, SHA256_ALGORITHM
from neuropil.errors import UnsupportedOperation

if TYPE_CHECKING:
    import os
    from typing import Literal, TypeAlias

    import h5py
    from pynwb import NWBFile

    from neuropil.client.instances import Instance
    from neuropil.client.publishing import VersionState
    from neuropil.http.transport import Transport
    from neuropil.stream.cache import BlockCache

    #: Where an asset's index is: a URL, a local path, or the parsed document (``False``:
    #: read the file itself, even when the archive has an index).
    IndexSource: TypeAlias = str | os.PathLike[str] | Mapping[str, Any] | Literal[False]

DRAFT = "draft"


def parse_time(value: object) -> datetime | None:
    """An ISO-8601 timestamp from the API (``Z`` accepted), or None when absent/unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _int(value: object) -> int:
    return value if isinstance(value, int) else 0


class ArchiveActions(Protocol):
    """The archive a record came from, as the record sees it: the public methods of the
    :class:`~neuropil.client.archive.Archive` façade that the records' conveniences call,
    and nothing else."""

    @property
    def instance(self) -> Instance: ...

    @property
    def transport(self) -> Transport: ...

    def fetch_metadata(self, record: Dandiset | Asset) -> dict[str, Any]: ...

    def assets(
        self, dandiset: Dandiset, *, path: str | None = None, glob: str | None = None
    ) -> Iterator[Asset]: ...

    def asset_by_path(self, dandiset: Dandiset, path: str) -> Asset: ...

    def download_dandiset(
        self,
        dandiset: Dandiset,
        dest: Path | str,
        *,
        path: str | None = None,
        existing: str = "error",
        jobs: int = 6,
        progress: ProgressCallback | None = None,
    ) -> DownloadResult: ...

    def download_asset(
        self,
        asset: Asset,
        dest: Path | str,
        *,
        existing: str = "overwrite",
        progress: ProgressCallback | None = None,
    ) -> Path: ...

    def open(
        self, asset: Asset, *, index: IndexSource | None = None, cache: BlockCache | None = None
    ) -> h5py.File: ...

    def open_nwb(
        self, asset: Asset, *, index: IndexSource | None = None, cache: BlockCache | None = None
    ) -> NWBFile: ...

    def validation(self, dandiset: Dandiset) -> VersionState: ...

    def wait_until_validated(
        self, dandiset: Dandiset, *, timeout: float = 120.0
    ) -> VersionState: ...

    def set_metadata(self, dandiset: Dandiset, metadata: Mapping[str, Any]) -> VersionState: ...

    def publish(
        self,
        dandiset: Dandiset,
        release_notes: str | None = None,
        *,
        wait: bool = True,
        timeout: float = 600.0,
    ) -> Dandiset | None: ...

    def delete(self, record: Dandiset | Asset) -> None: ...


@dataclass(frozen=True)
class Version:
    """One version of a Dandiset: ``draft`` or a published ``0.YYMMDD.HHMM``."""

    version: str
    name: str
    asset_count: int
    size: int
    status: str
    created: datetime | None
    modified: datetime | None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Version:
        return cls(
            version=str(data["version"]),
            name=str(data.get("name") or ""),
            asset_count=_int(data.get("asset_count")),
            size=_int(data.get("size")),
            status=str(data.get("status") or ""),
            created=parse_time(data.get("created")),
            modified=parse_time(data.get("modified")),
        )

    @property
    def is_draft(self) -> bool:
        return self.version == DRAFT


@dataclass
class Dandiset:
    """A Dandiset at one version (``version``); ``draft`` and ``published`` describe the
    draft and the most recent published version, as the server listed them."""

    identifier: str
    version: Version
    draft: Version | None
    published: Version | None
    created: datetime | None
    modified: datetime | None
    contact_person: str
    embargo_status: str
    archive: ArchiveActions = field(repr=False, compare=False)
    _metadata: dict[str, Any] | None = field(default=None, repr=False, compare=False)

    @classmethod
    def from_json(
        cls,
        data: Mapping[str, Any],
        archive: ArchiveActions,
        *,
        version: Version | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> Dandiset:
        """From a ``/dandisets/{id}/`` or list item; ``version`` defaults to the most recent
        published version, else the draft."""
        draft = data.get("draft_version")
        published = data.get("most_recent_published_version")
        draft_v = Version.from_json(draft) if draft else None
        published_v = Version.from_json(published) if published else None
        chosen = version or published_v or draft_v
        if chosen is None:
            raise ValueError(f"dandiset {data.get('identifier')} has no versions")
        return cls(
            identifier=str(data["identifier"]),
            version=chosen,
            draft=draft_v,
            published=published_v,
            created=parse_time(data.get("created")),
            modified=parse_time(data.get("modified")),
            contact_person=str(data.get("contact_person") or ""),
            embargo_status=str(data.get("embargo_status") or "OPEN"),
            archive=archive,
            _metadata=metadata,
        )

    @property
    def version_id(self) -> str:
        """``draft`` or the published version string."""
        return self.version.version

    @property
    def name(self) -> str:
        return self.version.name

    @property
    def api_path(self) -> str:
        """``dandisets/{id}/versions/{version}/``, relative to the API URL."""
        return f"dandisets/{self.identifier}/versions/{self.version_id}/"

    @property
    def url(self) -> str:
        """This Dandiset's page in the web UI (or its API URL when there is no web UI)."""
        instance = self.archive.instance
        if instance.web_url:
            return f"{instance.web_url}/dandiset/{self.identifier}/{self.version_id}"
        return f"{instance.api_url}/{self.api_path}"

    @property
    def metadata(self) -> dict[str, Any]:
        """The raw version metadata (``GET …/versions/{version}/``), fetched once."""
        if self._metadata is None:
            self._metadata = self.archive.fetch_metadata(self)
        return self._metadata

    def assets(self, path: str | None = None, glob: str | None = None) -> Iterator[Asset]:
        """Assets of this version, ordered by path: all of them, those whose path starts
        with ``path``, or those matching ``glob`` (``*`` matches across ``/``, any case)."""
        return self.archive.assets(self, path=path, glob=glob)

    def asset(self, path: str) -> Asset:
        """The asset at exactly ``path``; :class:`~neuropil.errors.NotFound` if none."""
        return self.archive.asset_by_path(self, path)

    def download(
        self,
        dest: Path | str,
        path: str | None = None,
        *,
        existing: str = "error",
        jobs: int = 6,
        progress: ProgressCallback | None = None,
    ) -> DownloadResult:
        """Download into the local Dandiset directory ``dest``: each asset to
        ``dest/<asset path>``, plus ``dest/dandiset.yaml``. ``path`` limits it to the assets
        whose path starts with it (a folder ends with ``/``). ``existing`` is one of
        error, skip, overwrite, overwrite-different, refresh. Failures are in the result."""
        return self.archive.download_dandiset(
            self, dest, path=path, existing=existing, jobs=jobs, progress=progress
        )

    def validation(self) -> VersionState:
        """This version's status with every metadata and asset error (``…/info/``)."""
        return self.archive.validation(self)

    def wait_until_validated(self, timeout: float = 120.0) -> VersionState:
        """Wait until the draft's validation has settled (Valid, Invalid or Published)."""
        return self.archive.wait_until_validated(self, timeout=timeout)

    def set_metadata(self, metadata: Mapping[str, Any]) -> VersionState:
        """Replace the draft's metadata; :class:`~neuropil.client.publishing.MetadataRejected`
        names every field the server refuses."""
        state = self.archive.set_metadata(self, metadata)
        self._metadata = None
        return state

    def publish(
        self, release_notes: str | None = None, *, wait: bool = True, timeout: float = 600.0
    ) -> Dandiset | None:
        """Publish the draft; with ``wait``, the new published version once it exists."""
        return self.archive.publish(self, release_notes, wait=wait, timeout=timeout)

    def delete(self) -> None:
        """Delete the whole Dandiset (only possible while it has no published version)."""
        self.archive.delete(self)


@dataclass
class Asset:
    """One asset of a Dandiset version (a blob; Zarr assets have ``zarr`` set instead)."""

    asset_id: str
    path: str
    size: int
    created: datetime | None
    modified: datetime | None
    blob: str | None
    zarr: str | None
    dandiset_id: str | None
    version_id: str | None
    archive: ArchiveActions = field(repr=False, compare=False)
    _metadata: dict[str, Any] | None = field(default=None, repr=False, compare=False)

    @classmethod
    def from_json(
        cls,
        data: Mapping[str, Any],
        archive: ArchiveActions,
        *,
        dandiset_id: str | None = None,
        version_id: str | None = None,
    ) -> Asset:
        """From an asset list item or ``…/assets/{id}/info/`` (``metadata`` kept if present)."""
        md = data.get("metadata")
        return cls(
            asset_id=str(data["asset_id"]),
            path=str(data["path"]),
            size=_int(data.get("size")),
            created=parse_time(data.get("created")),
            modified=parse_time(data.get("modified")),
            blob=data.get("blob") or None,
            zarr=data.get("zarr") or None,
            dandiset_id=dandiset_id,
            version_id=version_id,
            archive=archive,
            _metadata=dict(md) if isinstance(md, Mapping) else None,
        )

    @property
    def identifier(self) -> str:
        return self.asset_id

    @property
    def api_path(self) -> str:
        """The asset's metadata URL path, relative to the API URL."""
        if self.dandiset_id and self.version_id:
            return (
                f"dandisets/{self.dandiset_id}/versions/{self.version_id}/assets/{self.asset_id}/"
            )
        return f"assets/{self.asset_id}/"

    @property
    def download_url(self) -> str:
        """``{api}/assets/{id}/download/``: answers with a redirect to the bytes."""
        return f"{self.archive.instance.api_url}/assets/{self.asset_id}/download/"

    @property
    def transport(self) -> Transport:
        """The HTTP client and token of the archive this asset came from (what
        :func:`neuropil.open` reads it with)."""
        return self.archive.transport

    @property
    def metadata(self) -> dict[str, Any]:
        """The raw asset metadata (fetched once when the listing did not include it)."""
        if self._metadata is None:
            self._metadata = self.archive.fetch_metadata(self)
        return self._metadata

    @property
    def digests(self) -> dict[str, str]:
        """``{"dandi:dandi-etag": …, "dandi:sha2-256": …}`` as the metadata lists them."""
        raw = self.metadata.get("digest") or {}
        return {str(k): str(v) for k, v in raw.items()} if isinstance(raw, dict) else {}

    @property
    def etag(self) -> str | None:
        return self.digests.get(ETAG_ALGORITHM)

    def remote_entry(self) -> RemoteEntry:
        """The download engine's record of this asset (digests and mtime from metadata)."""
        if self.zarr is not None:
            raise UnsupportedOperation(f"{self.path} is a Zarr asset; Zarr is not supported yet")
        etag = self.etag
        if etag is None:
            raise ValueError(f"asset {self.path} has no dandi-etag in its metadata")
        modified = parse_time(self.metadata.get("blobDateModified")) or self.modified
        return RemoteEntry(
            asset_id=self.asset_id,
            path=self.path,
            size=self.size,
            download_url=self.download_url,
            etag=etag,
            sha256=self.digests.get(SHA256_ALGORITHM),
            modified=modified,
        )

    def open(
        self, *, index: IndexSource | None = None, cache: BlockCache | None = None
    ) -> h5py.File:
        """This HDF5/NWB asset as a read-only ``h5py.File``, read lazily over HTTP: through
        its index when the metadata names one (or ``index`` is given), else the file's own
        bytes. See :func:`neuropil.open`."""
        return self.archive.open(self, index=index, cache=cache)

    def open_nwb(
        self, *, index: IndexSource | None = None, cache: BlockCache | None = None
    ) -> NWBFile:
        """This NWB asset's ``NWBFile``, read lazily by pynwb (see :func:`neuropil.open_nwb`)."""
        return self.archive.open_nwb(self, index=index, cache=cache)

    def download(
        self,
        dest: Path | str,
        progress: ProgressCallback | None = None,
        *,
        existing: str = "overwrite",
    ) -> Path:
        """Download to ``dest`` (a file path, or an existing directory to put the file in
        under its own name) and return the file's path. Every byte is checked against the
        asset's digests; raises :class:`~neuropil.errors.NeuropilError` on failure."""
        return self.archive.download_asset(self, dest, existing=existing, progress=progress)

    def delete(self) -> None:
        """Remove this asset from the draft version of its Dandiset."""
        self.archive.delete(self)
