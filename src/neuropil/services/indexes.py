"""Server-built LINDI indexes: one per HDF5 blob, built in the background, served per asset.

Lifecycle (see ``docs/design/streaming.md``):

- The sha256 job enqueues ``blob.index`` (dedup key per blob) in the transaction that
  records the hash: the bytes have just been checked against the dandi-etag, so a corrupt
  upload is never indexed, and the job is as durable as the hash.
- The job reads the stored blob (the local store's file, else ranged reads through
  :class:`~neuropil.services.blob_file.BlobFile`) and writes two store objects, no
  database row: ``indexes/<blob_id>.lindi.json``, the index with an empty URL template,
  then ``indexes/<blob_id>.status.json``, the commit point, whose ``state`` is ``built``,
  ``not-hdf5`` or ``failed`` (with the reason). A file that cannot be indexed is a verdict,
  recorded once: only faults of the store itself make the job retry.
- Serving fills the template with the blob's URL as the requesting client sees it, so one
  index serves every asset of the blob, behind any proxy. No status yet means "being
  built" (503 with ``Retry-After``); blobs older than this feature are queued on first ask.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Protocol

import sqlalchemy as sa
from sqlalchemy.orm import Session

from neuropil._version import __version__
from neuropil.db.models import AssetBlob
from neuropil.db.types import utcnow
from neuropil.errors import CorruptHdf5, InvalidHdf5, NeuropilError, NotFound, NotHdf5
from neuropil.jobs.worker import PermanentJobError
from neuropil.services.blob_file import BlobFile, StoreReadError
from neuropil.services.context import Context
from neuropil.services.urls import Urls
from neuropil.storage import BlobStore

log = logging.getLogger(__name__)

JOB = "blob.index"
PREFIX = "indexes/"
INDEX_SUFFIX = ".lindi.json"
STATUS_SUFFIX = ".status.json"
#: Seconds a client is told to wait while an index is being built (metadata-only walk:
#: seconds even for large files).
RETRY_AFTER = 2
#: The ``X-Neuropil-Index-Status`` header of every answer: machines need not parse messages.
STATUS_HEADER = "X-Neuropil-Index-Status"

BUILT = "built"
NOT_HDF5 = "not-hdf5"
FAILED = "failed"
BUILDING = "building"


def job_key(blob_id: str) -> str:
    return f"{JOB}:{blob_id}"


def index_key(blob_id: str) -> str:
    return f"{PREFIX}{blob_id}{INDEX_SUFFIX}"


def status_key(blob_id: str) -> str:
    return f"{PREFIX}{blob_id}{STATUS_SUFFIX}"


def blob_id_of(key: str) -> str | None:
    """The blob id an ``indexes/`` object belongs to (``None`` for anything else)."""
    if not key.startswith(PREFIX):
        return None
    name = key[len(PREFIX) :]
    for suffix in (INDEX_SUFFIX, STATUS_SUFFIX):
        if name.endswith(suffix) and "/" not in name:
            return name[: -len(suffix)] or None
    return None


# -- errors the API shows ---------------------------------------------------------------------
class IndexPending(NeuropilError):
    """The index is not built yet: 503 with ``Retry-After`` (a transient state)."""

    status_code = 503
    detail_shape = True

    def __init__(self, message: str) -> None:
        super().__init__(
            message, headers={"Retry-After": str(RETRY_AFTER), STATUS_HEADER: BUILDING}
        )


class NoIndex(NotFound):
    """The blob has no index and never will: not HDF5, or indexing failed for good."""

    def __init__(self, message: str, state: str) -> None:
        super().__init__(message, headers={STATUS_HEADER: state})
        self.state = state


# -- status records ---------------------------------------------------------------------------
@dataclass(frozen=True)
class IndexStatus:
    """What became of a blob's index; stored as ``indexes/<blob_id>.status.json``."""

    state: str
    message: str
    blob_etag: str
    #: sha256 of the stored index bytes (the base of the served ETag); built only.
    digest: str = ""
    size: int = 0
    #: The URL template the refs use and the format version: serving swaps the template's
    #: value without parsing the index.
    template: str = ""
    version: int = 1
    seconds: float = 0.0
    created: str = field(default_factory=lambda: utcnow().isoformat())
    builder: str = __version__

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True).encode()

    @classmethod
    def from_json(cls, data: bytes) -> IndexStatus | None:
        """The record, or ``None`` for one this version cannot read (it is rebuilt)."""
        try:
            raw = json.loads(data)
            known = {k: raw[k] for k in cls.__dataclass_fields__ if k in raw}
            status = cls(**known)
        except (ValueError, TypeError, KeyError):
            return None
        return status if status.state in (BUILT, NOT_HDF5, FAILED) else None


def _read(store: BlobStore, key: str) -> bytes | None:
    try:
        return b"".join(store.read(key))
    except KeyError:
        return None


def read_status(store: BlobStore, blob_id: str) -> IndexStatus | None:
    data = _read(store, status_key(blob_id))
    return IndexStatus.from_json(data) if data is not None else None


def delete_index(store: BlobStore, blob_id: str) -> None:
    """Remove a blob's index objects (status first: without it the index is not served)."""
    store.delete(status_key(blob_id))
    store.delete(index_key(blob_id))


# -- the job ----------------------------------------------------------------------------------
def request_index(ctx: Context, s: Session, blob_id: str) -> None:
    """Queue the index build of a blob, in the caller's transaction."""
    ctx.jobs.enqueue(s, JOB, {"blob_id": blob_id}, dedup_key=job_key(blob_id))


def build_blob_index(ctx: Context, blob_id: str) -> IndexStatus:
    """The ``blob.index`` job: index a blob once and record the outcome.

    Raises only for faults worth a retry (the store failing to deliver bytes); a file that
    is not HDF5 or cannot be indexed is recorded as such and the job succeeds.
    """
    with ctx.db.read() as s:
        blob = s.get(AssetBlob, blob_id)
    if blob is None:
        raise PermanentJobError(f"blob {blob_id} no longer exists")
    done = read_status(ctx.store, blob_id)
    if done is not None and done.blob_etag == blob.etag:
        return done  # a retry after the status was written, or a second request
    started = time.monotonic()
    try:
        data, template, version = _build(ctx.store, blob)
    except NotHdf5:
        status = IndexStatus(NOT_HDF5, not_hdf5_message(), blob.etag)
    except InvalidHdf5 as exc:
        status = IndexStatus(FAILED, str(exc), blob.etag)
    else:
        ctx.store.put(index_key(blob_id), data)
        status = IndexStatus(
            BUILT,
            "",
            blob.etag,
            digest=hashlib.sha256(data).hexdigest(),
            size=len(data),
            template=template,
            version=version,
            seconds=round(time.monotonic() - started, 3),
        )
    ctx.store.put(status_key(blob_id), status.to_json())
    log.info("index of blob %s: %s %s", blob_id, status.state, status.message)
    return status


def not_hdf5_message() -> str:
    return "not an HDF5 file: no index (only HDF5/NWB files are indexed)"


def _build(store: BlobStore, blob: AssetBlob) -> tuple[bytes, str, int]:
    """The stored form of the blob's index: compact JSON with an empty URL template."""
    from neuropil.index import build_index, dumps_index

    name = f"blob {blob.blob_id}"
    path = store.local_path(blob.key)  # h5py opens a local file itself, without ranged reads
    source: BinaryIO | Path
    remote: BlobFile | None = None
    if path is not None:
        if not path.is_file():
            raise PermanentJobError(f"the bytes of {name} are missing")
        source = path
    else:
        if store.stat(blob.key) is None:
            raise PermanentJobError(f"the bytes of blob {blob.blob_id} are missing")
        remote = BlobFile(store, blob.key, blob.size, name=name)
        source = io.BufferedReader(remote, buffer_size=64 << 10)
    try:
        if isinstance(source, Path):
            index = build_index(source, url="", name=name)
        else:
            with source:
                index = build_index(source, url="", name=name)
    except StoreReadError:
        raise
    except InvalidHdf5:
        if remote is not None and remote.error is not None:
            raise remote.error from None  # the store failed, not the file: retry
        raise
    except Exception as exc:  # odd bytes can trip h5py anywhere; the verdict is final
        if remote is not None and remote.error is not None:
            raise remote.error from exc
        log.warning("indexing blob %s failed", blob.blob_id, exc_info=True)
        raise CorruptHdf5(f"{name} could not be indexed: {type(exc).__name__}: {exc}") from exc
    (template,) = index["templates"]
    return dumps_index(index).encode(), str(template), int(index["version"])


# -- serving ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class ServedIndex:
    """An index as one client gets it: JSON bytes and a strong validator."""

    body: bytes
    etag: str  # without quotes


class Tagged(Protocol):
    """What serving needs of a blob: the ETag its index was built for."""

    @property
    def etag(self) -> str: ...


def blob_index_url(urls: Urls, blob_id: str) -> str:
    """The endpoint serving a blob's index by the blob alone (``/api/blobs/{id}/index/``):
    what a blob URL's ``Link`` header names, since the bytes know no asset."""
    return f"{urls.api}/blobs/{blob_id}/index/"


def advertised_blob_index(ctx: Context, urls: Urls, blob_id: str) -> str | None:
    """The URL a blob's answers advertise as its index: only once the index is built (the
    blob may be of any kind; a status object says whether it is indexed)."""
    status = read_status(ctx.store, blob_id)
    return blob_index_url(urls, blob_id) if status is not None and status.state == BUILT else None


def served_index(ctx: Context, blob: Tagged, *, blob_id: str, blob_url: str) -> ServedIndex:
    """The blob's index with its URL template set to ``blob_url``.

    Raises :class:`IndexPending` while it is being built and :class:`NoIndex` when there
    is none (not HDF5, or indexing failed: the message says why).
    """
    status = read_status(ctx.store, blob_id)
    if status is None or status.blob_etag != blob.etag:
        status = _settle(ctx, blob_id, blob.etag)
    if status.state == NOT_HDF5:
        raise NoIndex(status.message or not_hdf5_message(), NOT_HDF5)
    if status.state == FAILED:
        raise NoIndex(f"the file could not be indexed: {status.message}", FAILED)
    stored = _read(ctx.store, index_key(blob_id))
    if stored is None:  # the status outlived its index (a partial delete): build again
        ctx.store.delete(status_key(blob_id))
        _settle(ctx, blob_id, blob.etag)  # queues the build and raises IndexPending
        raise IndexPending("The index of this file is being rebuilt; retry in a few seconds.")
    body = with_url(stored, blob_url, template=status.template, version=status.version)
    tag = hashlib.sha256(f"{status.digest}\n{blob_url}".encode()).hexdigest()[:40]
    return ServedIndex(body, tag)


def _settle(ctx: Context, blob_id: str, blob_etag: str) -> IndexStatus:
    """No status yet: return one that appeared meanwhile, record a job that gave up, or
    make sure a build is queued and raise :class:`IndexPending`."""
    key = job_key(blob_id)
    with ctx.db.read() as s:
        hashed = s.scalar(sa.select(AssetBlob.sha256).where(AssetBlob.blob_id == blob_id))
        queued = ctx.jobs.is_queued(s, key)
        gave_up = None if queued else ctx.jobs.gave_up(s, key)
    if not hashed:
        raise IndexPending(
            "The file is still being checked (sha256); its index is built right after. "
            "Retry in a few seconds."
        )
    status = read_status(ctx.store, blob_id)  # the job may have finished meanwhile
    if status is not None:
        return status
    if gave_up is not None:
        # The job crashed or the store failed on every attempt: record it, do not loop.
        lines = [line for line in gave_up.strip().splitlines() if line.strip()]
        reason = lines[-1].strip() if lines else "unknown error"
        status = IndexStatus(FAILED, f"indexing failed repeatedly ({reason})", blob_etag)
        ctx.store.put(status_key(blob_id), status.to_json())
        return status
    if not queued:  # a blob from before indexes existed: build it now
        with ctx.db.write() as s:
            request_index(ctx, s, blob_id)
    raise IndexPending("The index of this file is being built; retry in a few seconds.")


def _tail(template: str, url: str, version: int) -> bytes:
    """The end of a stored index: ``,"templates":{...},"version":N}`` (sorted keys)."""
    text = json.dumps(
        {"templates": {template: url}, "version": version}, sort_keys=True, separators=(",", ":")
    )
    return ("," + text[1:]).encode()


def with_url(stored: bytes, url: str, *, template: str, version: int) -> bytes:
    """The stored index with its URL template set: a swap of the document's fixed tail
    (keys are sorted, so ``templates`` and ``version`` come last), parsing only when the
    stored form is not the expected one."""
    empty = _tail(template, "", version)
    if template and stored.endswith(empty):
        return stored[: -len(empty)] + _tail(template, url, version)
    doc: dict[str, Any] = json.loads(stored)
    names = list(doc.get("templates") or {}) or [template or "u1"]
    doc["templates"] = {name: url for name in names}
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
