"""The download engine: many files at once, several ranged connections per large blob.

Independent of the CLI and of URL parsing: callers hand in
:class:`~neuropil.client.download_records.RemoteEntry` records and local targets. What it
does beyond the official client (``dandi download``):

* files run in parallel (``jobs``) *and* a large blob is fetched over several connections,
  split on dandi-etag part boundaries, so each connection md5s whole parts and the
  dandi-etag is checked while writing, without reading the file again;
* every request retries (connection errors, 429 honouring ``Retry-After``, 5xx) and a
  broken stream resumes from the byte it stopped at;
* partial data lives in ``<target>.npdownload`` with a sidecar ``<target>.npdownload.json``
  listing the completed byte ranges, so a re-run (after a crash, a kill or Ctrl-C) fetches
  only what is missing; ``existing="error"`` never trips over a partial download;
* a file is renamed into place only after its digests match, so a good local file is never
  replaced by bad bytes.

This module is the public entry and the ``existing`` policy; the parts live in
:mod:`~neuropil.client._partial` (the partial file and its record),
:mod:`~neuropil.client._ranged` (the connections) and :mod:`~neuropil.client._verify`
(the digests), and the records they share in :mod:`~neuropil.client.download_records`.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

# Names imported ``X as X`` are re-exported: this module is the one import for downloads,
# wherever the pieces live.
from neuropil.client._download_errors import Aborted, DigestMismatch, Failed
from neuropil.client._localfs import timestamp
from neuropil.client._partial import PARTIAL_SUFFIX as PARTIAL_SUFFIX
from neuropil.client._partial import SIDECAR_MIN as SIDECAR_MIN
from neuropil.client._partial import STATE_SUFFIX as STATE_SUFFIX
from neuropil.client._partial import Partial
from neuropil.client._ranged import MULTI_CONNECTION_MIN as MULTI_CONNECTION_MIN
from neuropil.client._ranged import RangedFetch
from neuropil.client._verify import Sha256Pass, verify
from neuropil.client.download_records import DownloadReport as DownloadReport
from neuropil.client.download_records import Failure as Failure
from neuropil.client.download_records import RemoteEntry as RemoteEntry
from neuropil.client.events import ByteCounter, Emitter
from neuropil.client.events import BytesDone as BytesDone
from neuropil.client.events import FileDone as FileDone
from neuropil.client.events import FileStarted as FileStarted
from neuropil.client.events import ProgressCallback as ProgressCallback
from neuropil.client.events import ProgressEvent as ProgressEvent
from neuropil.client.events import Status as Status
from neuropil.client.local_tree import sync_delete as sync_delete
from neuropil.client.local_tree import write_dandiset_yaml as write_dandiset_yaml
from neuropil.client.policies import DOWNLOAD_EXISTING, DownloadExisting
from neuropil.core.digests import file_etag, parts_for_size
from neuropil.errors import NeuropilError, UsageError
from neuropil.http.transport import Transport

ExistingPolicy = DownloadExisting
EXISTING_POLICIES = DOWNLOAD_EXISTING

#: ``refresh`` treats mtimes this close as equal (coarse filesystems, dandi #1907).
MTIME_TOLERANCE = 2.0


# -- the existing policy -----------------------------------------------------------------------


def _existing_verdict(target: Path, remote: RemoteEntry, policy: str) -> str | None:
    """Why an existing target is kept (a skip), ``None`` to download; raises for ``error``."""
    if not (target.exists() or target.is_symlink()):
        return None
    if target.is_dir():
        raise Failed(f"{target} is a directory")
    if policy == "error":
        raise Failed(
            f"{target} already exists; choose existing=skip, overwrite, "
            "overwrite-different or refresh"
        )
    if policy == "skip":
        return "already exists"
    if policy == "overwrite":
        return None
    st = target.stat()
    if st.st_size != remote.size:
        return None
    if policy == "overwrite-different":
        return "same content" if file_etag(target) == remote.etag else None
    # refresh: without the remote mtime nothing proves the local copy current.
    modified = remote.modified
    if modified and abs(st.st_mtime - timestamp(modified)) <= MTIME_TOLERANCE:
        return "same size and mtime"
    return None


# -- one file ----------------------------------------------------------------------------------


@dataclass
class _Run:
    """What every file download of one :func:`download_files` call shares."""

    transport: Transport
    existing: str
    connections: int
    emit: Emitter
    abort: threading.Event = field(default_factory=threading.Event)


class _FileDownload:
    """Downloads one :class:`RemoteEntry` to one target."""

    def __init__(self, run: _Run, remote: RemoteEntry, target: Path) -> None:
        self.run = run
        self.remote = remote
        self.target = target
        parts = parts_for_size(remote.size)
        self.partial = Partial(target, remote, parts)
        self.counter = ByteCounter(remote.path, run.emit)
        self.md5s: list[str | None] = [None] * len(parts)
        self.sha = Sha256Pass(self.partial, self.md5s, enabled=remote.sha256 is not None)
        self.fetch = RangedFetch(
            run.transport,
            remote,
            self.partial,
            self.md5s,
            counter=self.counter,
            interrupted=run.abort,
            part_done=self.sha.part_done,
        )

    def execute(self) -> tuple[Status, str]:
        """Download unless the ``existing`` policy says not to; raises on failure."""
        verdict = _existing_verdict(self.target, self.remote, self.run.existing)
        if verdict is not None:
            return "skipped", verdict
        self.target.parent.mkdir(parents=True, exist_ok=True)
        resumed = self.partial.open()
        self.run.emit(FileStarted(self.remote.path, self.remote.size, resumed))
        try:
            self._fetch_and_verify()
        except DigestMismatch:
            self.partial.discard()  # bad bytes: nothing of them may survive
            raise
        except BaseException:
            self.partial.keep()
            raise
        self.partial.commit(self.target)
        return "done", f"resumed after {resumed} bytes" if resumed else ""

    def _fetch_and_verify(self) -> None:
        self.sha.start()
        try:
            self.fetch.run(self.run.connections)
            verify(self.remote, self.md5s, self.sha)
        finally:
            self.sha.stop()
            self.counter.flush()


# -- the public entry point --------------------------------------------------------------------


def download_files(
    transport: Transport,
    items: Sequence[tuple[RemoteEntry, Path]],
    *,
    existing: ExistingPolicy | str = "error",
    jobs: int = 6,
    connections: int = 4,
    progress: ProgressCallback | None = None,
) -> DownloadReport:
    """Download ``items`` (remote file, local target) in parallel and verify every byte.

    ``jobs`` files run at once; a blob of at least 32 MiB is fetched over up to
    ``connections`` ranged connections. ``existing`` decides what happens to a target that
    already exists, as in ``dandi download -e``. A partial download left by an earlier run
    is resumed whatever the policy. ``progress`` receives :class:`FileStarted`,
    :class:`BytesDone` and :class:`FileDone` events, one at a time.

    Failures of single files are collected in the report; only an interrupt (Ctrl-C)
    propagates, after the running downloads recorded their progress for a resume.
    """
    if existing not in EXISTING_POLICIES:
        raise UsageError(f"existing must be one of {', '.join(EXISTING_POLICIES)}")
    run = _Run(transport, existing, max(1, connections), Emitter(progress))
    report = DownloadReport()
    seen: set[Path] = set()
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures: dict[Future[_Outcome], RemoteEntry] = {}
        for remote, target in items:
            key = Path(os.path.abspath(target))
            if key in seen:
                _record(report, run, remote, _Outcome("failed", f"{target} is a target twice", 0))
                continue
            seen.add(key)
            futures[pool.submit(_download_one, run, remote, Path(target))] = remote
        try:
            for fut in as_completed(futures):
                _record(report, run, futures[fut], fut.result())
        except BaseException:
            run.abort.set()  # running files stop at their next chunk and save their progress
            for fut in futures:
                fut.cancel()
            raise
    return report


class _Outcome(NamedTuple):
    status: Status
    message: str
    fetched: int


def _download_one(run: _Run, remote: RemoteEntry, target: Path) -> _Outcome:
    """How one file went; never raises for a failed file."""
    job: _FileDownload | None = None
    try:
        job = _FileDownload(run, remote, target)
        status, message = job.execute()
    except Aborted:
        status, message = "failed", "interrupted"
    except (Failed, NeuropilError, OSError) as exc:
        status, message = "failed", str(exc)
    except Exception as exc:  # a bug or an unforeseen error must not sink the other files
        status, message = "failed", f"{type(exc).__name__}: {exc}"
    return _Outcome(status, message, job.counter.total if job else 0)


def _record(report: DownloadReport, run: _Run, remote: RemoteEntry, outcome: _Outcome) -> None:
    report.bytes_fetched += outcome.fetched
    if outcome.status == "done":
        report.done += 1
    elif outcome.status == "skipped":
        report.skipped += 1
    else:
        report.failures.append(Failure(remote.path, outcome.message))
    run.emit(FileDone(remote.path, outcome.status, outcome.message))
