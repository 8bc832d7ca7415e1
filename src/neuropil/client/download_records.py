"""The records of a download: what to fetch, and what happened.

A leaf: the download engine (:mod:`~neuropil.client.download` and its parts), the API
records (:mod:`~neuropil.client.models`) and the façade (:mod:`~neuropil.client.archive`)
all use them, and they import none of those.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import NamedTuple


@dataclass(frozen=True)
class RemoteEntry:
    """One blob asset to download, as the archive describes it (not to be confused with
    :class:`neuropil.stream.RemoteFile`, a lazily read remote file)."""

    asset_id: str
    path: str
    size: int
    #: The API's ``/assets/{id}/download/`` URL (answers 302 to the blob URL).
    download_url: str
    etag: str
    sha256: str | None = None
    #: ``blobDateModified``: becomes the local file's mtime.
    modified: datetime | None = None


class Failure(NamedTuple):
    """A file that could not be downloaded and why."""

    path: str
    reason: str


@dataclass
class DownloadReport:
    """What :func:`~neuropil.client.download.download_files` did; a single file's failure is
    recorded here, not raised."""

    done: int = 0
    skipped: int = 0
    failures: list[Failure] = field(default_factory=list)
    #: Bytes fetched over the network (resumed bytes are not counted).
    bytes_fetched: int = 0

    @property
    def failed(self) -> int:
        return len(self.failures)

    @property
    def ok(self) -> bool:
        return not self.failures


@dataclass
class DownloadResult:
    """What a download of the Python API did (files and ``dandiset.yaml`` into one local
    root). ``failures`` lists every file that failed, with its reason."""

    root: Path
    done: int = 0
    skipped: int = 0
    failures: list[Failure] = field(default_factory=list)
    bytes_fetched: int = 0
    #: Local files (targets) the download covered, including skipped ones.
    files: list[Path] = field(default_factory=list)
    #: ``sync``: local files not in the remote that were deleted / kept (not confirmed).
    deleted: list[Path] = field(default_factory=list)
    not_deleted: list[Path] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return len(self.failures)

    @property
    def ok(self) -> bool:
        return not self.failures

    def add(self, report: DownloadReport) -> None:
        """Count in what one run of the download engine did."""
        self.done += report.done
        self.skipped += report.skipped
        self.failures.extend(report.failures)
        self.bytes_fetched += report.bytes_fetched
