"""Uploading local files as assets of the draft: a dandiset directory (``neuropil upload``,
:func:`upload_paths`) or one file to one asset path (:func:`upload_file`).

Each blob goes through :mod:`neuropil.client.upload_protocol`; which files a folder holds is
:mod:`neuropil.localfiles`, and what to do with each is :mod:`neuropil.client.upload_plan`.

``upload_paths`` takes the same steps as ``dandi upload`` (dandi-client.md §5), done better
where users complain:

* every file refused by validation is listed with *every* reason (not an error count);
  validation is :func:`neuropil.validation.validate_files`, the same as ``neuropil validate``,
  and each Zarr folder gets ``validate``'s Zarr checks
  (:func:`neuropil.validation.validate_zarr_folders`) before any of its bytes is sent;
* digests are cached across runs by file fingerprint, so re-uploading a large dandiset
  reads nothing it has read before; the next files are hashed while earlier ones upload;
* the archive's assets are listed once per scope, not looked up file by file;
* bytes the archive already has are never sent (409 dedup), and an interrupted upload of
  a large file resumes with the missing parts only (neuropil servers);
* one file's failure never stops the others: the :class:`UploadReport` says what happened
  to each file, and only Ctrl-C propagates.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from neuropil.client.digest_cache import Digest, DigestCache, Fingerprint, compute_digest
from neuropil.client.events import (
    ByteCounter,
    Emitter,
    FileDone,
    FileStarted,
    ProgressCallback,
)
from neuropil.client.upload_plan import (
    EXISTING_POLICIES,
    ExistingPolicy,
    Refused,
    RemoteAsset,
    asset_metadata,
    check_dandiset_root,
    list_remote,
    skip_after_hashing,
    skip_before_hashing,
)
from neuropil.client.upload_protocol import (
    Aborted,
    BlobResult,
    BlobSender,
    ResumeProbe,
    upload_blob,
)
from neuropil.client.zarr_upload import upload_zarr_folders
from neuropil.core.digests import ETAG_ALGORITHM
from neuropil.errors import NeuropilError
from neuropil.http.transport import Transport
from neuropil.localfiles import FileSelection, LocalFile, in_scopes, select_files
from neuropil.validation import (
    ExtractionCache,
    Finding,
    errors_by_path,
    validate_files,
    validate_zarr_folders,
)

log = logging.getLogger(__name__)

ValidationMode = Literal["require", "skip", "ignore"]
VALIDATION_MODES = ("require", "skip", "ignore")
ConfirmDelete = Callable[[list[str]], bool]


@dataclass(frozen=True)
class Skipped:
    path: str
    reason: str


@dataclass(frozen=True)
class Failed:
    """A file that was not uploaded, with every reason (all validation errors, say)."""

    path: str
    reasons: tuple[str, ...]


@dataclass
class UploadReport:
    """What :func:`upload_paths` did, file by file.

    ``uploaded`` files had bytes sent; ``deduplicated`` ones became assets of bytes the
    archive already held (none sent). Both now have their asset in the draft.
    """

    uploaded: list[str] = field(default_factory=list)
    deduplicated: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    failed: list[Failed] = field(default_factory=list)
    #: Remote-only assets removed by ``sync``.
    deleted: list[str] = field(default_factory=list)
    #: Every validation finding, also those of files that were uploaded anyway.
    findings: list[Finding] = field(default_factory=list)
    #: Blob bytes PUT over the network by this run (re-sent bytes count again).
    bytes_sent: int = 0
    #: Bytes an interrupted earlier run had stored, which this run did not send again.
    bytes_resumed: int = 0
    #: Digests taken from the cache, and digests computed by reading the file.
    digest_cache_hits: int = 0
    digests_computed: int = 0
    #: ``sync`` found remote-only assets but the confirmation said no.
    sync_declined: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed


@dataclass(frozen=True)
class _Job:
    file: LocalFile
    digest: Digest
    fingerprint: Fingerprint
    remote: RemoteAsset | None
    note: str


class _Run:
    """One upload run: the shared state of the hashing loop and the upload workers."""

    def __init__(
        self,
        transport: Transport,
        dandiset_id: str,
        root: Path,
        existing: str,
        part_jobs: int,
        progress: ProgressCallback | None,
        cache: DigestCache,
    ) -> None:
        self.transport = transport
        self.dandiset_id = dandiset_id
        self.root = root
        self.existing = existing
        self.emit = Emitter(progress)
        self.cache = cache
        self.abort = threading.Event()
        self.sender = BlobSender(
            transport,
            dandiset_id=dandiset_id,
            part_jobs=part_jobs,
            abort=self.abort,
            probe=ResumeProbe(),
        )
        self.report = UploadReport()
        self._lock = threading.Lock()
        #: Validation errors of files uploaded anyway (``validation="ignore"``), by path.
        self.ignored_errors: dict[str, int] = {}
        #: NWB metadata extracted by validation, sent with each file's asset.
        self.extracted = ExtractionCache()

    # -- recording outcomes (thread-safe) -------------------------------------------------------

    def skip(self, path: str, reason: str) -> None:
        with self._lock:
            self.report.skipped.append(Skipped(path, reason))
        self.emit(FileDone(path, "skipped", reason))

    def fail(self, path: str, *reasons: str) -> None:
        with self._lock:
            self.report.failed.append(Failed(path, reasons))
        self.emit(FileDone(path, "failed", "; ".join(reasons)))

    def done(self, path: str, result: BlobResult, note: str) -> None:
        with self._lock:
            (self.report.deduplicated if result.deduplicated else self.report.uploaded).append(path)
            self.report.bytes_resumed += result.resumed
        self.emit(FileDone(path, "done", note))

    def count_sent(self, n: int) -> None:
        with self._lock:
            self.report.bytes_sent += n

    # -- the steps --------------------------------------------------------------------------

    def validate(
        self, files: list[LocalFile], zarrs: list[LocalFile], mode: str, jobs: int
    ) -> tuple[list[LocalFile], list[LocalFile]]:
        """Run the validation of the files and Zarr folders; with ``require`` drop those with
        errors (failing them). Returns the files and the Zarr folders to upload."""
        findings = validate_files(
            [f.path for f in files], dandiset_root=self.root, jobs=jobs, cache=self.extracted
        )
        findings += validate_zarr_folders([z.path for z in zarrs], dandiset_root=self.root)
        self.report.findings.extend(findings)
        errors = errors_by_path(findings)
        if mode == "ignore":
            self.ignored_errors = {p: len(e) for p, e in errors.items()}
            return files, zarrs
        for path, found in errors.items():
            self.fail(path, *(f"refused by validation: [{f.id}] {f.message}" for f in found))
        return (
            [f for f in files if f.asset_path not in errors],
            [z for z in zarrs if z.asset_path not in errors],
        )

    def existing_zarrs(
        self, zarrs: list[LocalFile], remote: dict[str, RemoteAsset]
    ) -> list[LocalFile]:
        """The ``existing`` policy for Zarr folders: ``error`` and ``skip`` act on an asset
        already in the draft as they do for files; with the others the Zarr is uploaded, and
        only the keys that differ from the archive's are sent (an identical Zarr is skipped:
        a folder's mtime says nothing of its files, so ``refresh`` compares keys too)."""
        out = []
        for zarr in zarrs:
            found = remote.get(zarr.asset_path)
            if found is None or self.existing not in ("error", "skip"):
                out.append(zarr)
                continue
            try:
                reason = skip_before_hashing(self.existing, found, 0)
            except Refused as exc:
                self.fail(zarr.asset_path, str(exc))
            else:
                self.skip(zarr.asset_path, reason or "")
        return out

    def prepare(self, file: LocalFile, remote: RemoteAsset | None) -> _Job | None:
        """Apply the ``existing`` policy and digest the file; None if nothing is to be sent."""
        try:
            st = os.stat(file.path)
            reason = skip_before_hashing(self.existing, remote, st.st_mtime_ns)
            if reason is None:
                digest, fp = self.cache.digest(file.path)
                reason = skip_after_hashing(self.existing, remote, digest.etag)
        except Refused as exc:
            self.fail(file.asset_path, str(exc))
            return None
        except (OSError, ValueError) as exc:
            self.fail(file.asset_path, f"cannot read {file.path}: {exc}")
            return None
        if reason is not None:
            self.skip(file.asset_path, reason)
            return None
        n = self.ignored_errors.get(file.asset_path)
        note = f"uploaded despite {n} validation error(s) (validation=ignore)" if n else ""
        return _Job(file, digest, fp, remote, note)

    def upload(self, job: _Job) -> None:
        """Send one file and make (or replace) its asset; never raises for that file."""
        path = job.file.asset_path
        counter = ByteCounter(path, self.emit)
        try:
            outcome = self._send(job, counter)
        finally:
            counter.flush()  # the last BytesDone comes before the FileDone
            self.count_sent(counter.total)
        if isinstance(outcome, str):
            self.fail(path, outcome)
            return
        notes = [job.note] if job.note else []
        if outcome.deduplicated:
            notes.insert(0, "deduplicated: the archive already had these bytes")
        elif outcome.resumed:
            notes.insert(0, f"resumed: {outcome.resumed} bytes were already uploaded")
        self.done(path, outcome, "; ".join(notes))

    def _send(self, job: _Job, counter: ByteCounter) -> BlobResult | str:
        """The blob sent and the asset made, or why not."""
        path = job.file.asset_path
        try:
            result = self.sender.send(
                job.file.path,
                job.digest,
                counter,
                on_start=lambda resumed: self.emit(FileStarted(path, job.digest.size, resumed)),
            )
            self._check_unchanged(job)
            self._put_asset(job, result.blob_id)
        except Aborted:
            return "interrupted"
        except (NeuropilError, OSError, ValueError) as exc:
            return str(exc)
        except Exception as exc:  # a bug must not sink the other files
            log.exception("uploading %s", path)
            return f"{type(exc).__name__}: {exc}"
        return result

    def _check_unchanged(self, job: _Job) -> None:
        """The file must still be what was hashed (dandi-cli re-checks the size: NFS)."""
        now = Fingerprint.of(job.file.path)
        if (now.size, now.mtime_ns) != (job.fingerprint.size, job.fingerprint.mtime_ns):
            raise ValueError(
                f"{job.file.path} changed while it was uploaded; its asset was not made. "
                "Re-run the upload once the file is final."
            )

    def _put_asset(self, job: _Job, blob_id: str) -> dict[str, Any]:
        base = f"dandisets/{self.dandiset_id}/versions/draft/assets/"
        extracted = self.extracted.metadata_for(job.file.path, job.file.asset_path)
        md = asset_metadata(
            job.file.asset_path,
            job.digest.size,
            job.fingerprint.mtime_ns,
            job.digest.etag,
            extracted,
        )
        body = {"metadata": md, "blob_id": blob_id}
        if job.remote is not None:
            r = self.transport.request("PUT", f"{base}{job.remote.asset_id}/", json=body)
        else:
            r = self.transport.request("POST", base, json=body)
        out: dict[str, Any] = r.json()
        return out

    def transfer(self, files: list[LocalFile], remote: dict[str, RemoteAsset], jobs: int) -> None:
        """Hash files in order on this thread while ``jobs`` workers upload hashed ones."""
        futures: list[Future[None]] = []
        with ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="upload") as pool:
            try:
                for file in files:
                    job = self.prepare(file, remote.get(file.asset_path))
                    if job is not None:
                        futures.append(pool.submit(self.upload, job))
                for fut in futures:
                    fut.result()
            except BaseException:
                # Ctrl-C: running parts stop at their next chunk; what arrived stays for resume.
                self.abort.set()
                for fut in futures:
                    fut.cancel()
                raise

    def sync(
        self,
        selection: FileSelection,
        remote: dict[str, RemoteAsset],
        confirm: ConfirmDelete | None,
    ) -> None:
        """Delete draft assets inside the uploaded scopes that have no local file."""
        gone = sorted(
            p
            for p in remote
            if in_scopes(p, selection.scopes) and not os.path.lexists(self.root / p)
        )
        if not gone:
            return
        if confirm is not None and not confirm(list(gone)):
            self.report.sync_declined = gone
            return
        base = f"dandisets/{self.dandiset_id}/versions/draft/assets/"
        for p in gone:
            try:
                self.transport.request("DELETE", f"{base}{remote[p].asset_id}/", ok=(404,))
            except NeuropilError as exc:
                self.fail(p, f"--sync could not delete it from the draft: {exc}")
            else:
                self.report.deleted.append(p)


def _check_options(existing: str, validation: str) -> None:
    if existing not in EXISTING_POLICIES:
        raise ValueError(f"existing must be one of {', '.join(EXISTING_POLICIES)}")
    if validation not in VALIDATION_MODES:
        raise ValueError(f"validation must be one of {', '.join(VALIDATION_MODES)}")


def upload_paths(
    transport: Transport,
    *,
    dandiset_id: str,
    dandiset_root: Path | str,
    paths: Sequence[Path | str] | None = None,
    existing: ExistingPolicy | str = "refresh",
    jobs: int = 4,
    part_jobs: int = 4,
    validation: ValidationMode | str = "require",
    sync: bool = False,
    confirm_delete: ConfirmDelete | None = None,
    progress: ProgressCallback | None = None,
    cache: DigestCache | None = None,
) -> UploadReport:
    """Upload the files under ``paths`` (default: all of ``dandiset_root``) to the draft.

    ``dandiset_root`` must hold a ``dandiset.yaml`` naming ``dandiset_id``; asset paths are
    file paths relative to it. ``existing`` decides about assets already in the draft, as
    in ``dandi upload``: ``error``, ``skip``, ``force`` (always), ``overwrite`` (unless the
    content is the same) or ``refresh`` (unless the content is the same or the draft's copy
    is at least as new). ``validation``: ``require`` refuses files (and Zarr folders) with
    errors, ``ignore`` uploads them (the findings are still reported), ``skip`` does not
    validate.
    With ``sync``, draft assets inside the uploaded folders with no local file are deleted
    once ``confirm_delete(paths)`` says yes (``None``: without asking).

    ``progress`` gets :class:`FileStarted`, :class:`BytesDone` and :class:`FileDone` events.
    """
    _check_options(existing, validation)
    root = Path(os.path.abspath(dandiset_root))
    check_dandiset_root(root, dandiset_id)
    own_cache = cache is None
    digests = cache if cache is not None else DigestCache()
    hits, computed = digests.hits, digests.computed
    run = _Run(transport, dandiset_id, root, existing, part_jobs, progress, digests)
    try:
        selection = select_files(root, paths)
        # Listed first: a wrong dandiset or token fails the run before any file is reported.
        remote = list_remote(transport, dandiset_id, selection.scopes)
        for path, reason in selection.skipped:
            run.skip(path, reason)
        if not sync:  # with sync a named file that is gone is one to delete, not an error
            for path in selection.missing:
                run.fail(path, f"{root / path} does not exist")
        files, zarrs = selection.files, selection.zarrs
        if validation != "skip":
            files, zarrs = run.validate(files, zarrs, validation, jobs)
        run.transfer(files, remote, jobs)
        zarrs = run.existing_zarrs(zarrs, remote)
        for path, zarr in upload_zarr_folders(transport, dandiset_id, zarrs, jobs=jobs):
            if isinstance(zarr, NeuropilError):
                run.fail(path, str(zarr))
            elif zarr.unchanged:
                run.skip(path, "the archive's Zarr is identical")
            else:
                run.report.uploaded.append(path)
                run.report.bytes_sent += zarr.bytes_sent
        if sync:
            run.sync(selection, remote, confirm_delete)
    finally:
        run.report.digest_cache_hits = digests.hits - hits
        run.report.digests_computed = digests.computed - computed
        if own_cache:
            digests.close()
    return run.report


def upload_file(
    transport: Transport,
    *,
    dandiset_id: str,
    path: Path,
    asset_path: str,
    metadata: dict[str, Any] | None = None,
    jobs: int = 4,
) -> dict[str, Any]:
    """Upload one file and add (or replace) the asset at ``asset_path`` in the draft.

    No validation, policy or digest cache: the asset gets ``metadata`` over the file's own
    facts (path, size, dandi-etag). Returns the asset as the API answers it.
    """
    digest = compute_digest(path, path.stat().st_size)
    blob = upload_blob(transport, dandiset_id=dandiset_id, path=path, digest=digest, part_jobs=jobs)
    md = {
        "path": asset_path,
        "contentSize": digest.size,
        "digest": {ETAG_ALGORITHM: digest.etag},
        **(metadata or {}),
    }
    base = f"dandisets/{dandiset_id}/versions/draft/assets/"
    existing = [
        a for a in transport.paginate(base, {"path": asset_path}) if a["path"] == asset_path
    ]
    body = {"metadata": md, "blob_id": blob.blob_id}
    if existing:
        r = transport.request("PUT", f"{base}{existing[0]['asset_id']}/", json=body)
    else:
        r = transport.request("POST", base, json=body)
    out: dict[str, Any] = r.json()
    return out
