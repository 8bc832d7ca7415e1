"""The objects every service function needs, built once per process."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from neuropil.config import Settings
from neuropil.core.signing import UrlSigner
from neuropil.db.engine import Database
from neuropil.jobs.protocol import JobQueue
from neuropil.jobs.queue import TableQueue
from neuropil.storage import BlobStore, LocalBlobStore, MemoryBlobStore

#: Job kinds run only when nothing else is runnable (``neuropil.services.indexes.JOB``,
#: ``neuropil.services.gc.JOB``): an index build or a collection can take seconds, a draft's
#: validation must not wait behind them.
LOW_PRIORITY_JOBS = frozenset({"blob.index", "gc.collect"})


@dataclass
class Context:
    settings: Settings
    db: Database
    store: BlobStore
    signer: UrlSigner
    jobs: JobQueue


def make_store(settings: Settings) -> BlobStore:
    """The blob store the settings name: ``NEUROPIL_STORAGE_URL``, else ``NEUROPIL_STORAGE``."""
    if settings.storage_url is not None:
        # boto3 is an optional extra (neuropil[s3]): imported only when S3 is configured.
        try:
            from neuropil.storage.s3 import S3BlobStore
        except ImportError as exc:
            raise ValueError(
                f"NEUROPIL_STORAGE_URL={settings.storage_url!r} needs boto3: "
                "pip install 'neuropil[s3]'"
            ) from exc
        return S3BlobStore.from_url(settings.storage_url, embargo_tags=settings.s3_embargo_tags)
    if settings.storage == "local":
        return LocalBlobStore(settings.blob_root)
    if settings.storage == "memory":
        return MemoryBlobStore()
    raise ValueError(f"unknown storage backend {settings.storage!r} (use 'local' or 'memory')")


def make_queue(settings: Settings, db: Database) -> JobQueue:
    """The job engine the settings name (``NEUROPIL_JOBS``)."""
    lease = timedelta(seconds=settings.job_lease)
    if settings.jobs == "procrastinate":
        # procrastinate is an optional extra (neuropil[jobs]): imported only when configured.
        try:
            from neuropil.jobs.procrastinate_queue import ProcrastinateQueue
        except ImportError as exc:
            raise ValueError(
                "NEUROPIL_JOBS=procrastinate needs procrastinate: pip install 'neuropil[jobs]'"
            ) from exc
        return ProcrastinateQueue(db, low_priority=LOW_PRIORITY_JOBS, lease=lease)
    return TableQueue(db, low_priority=LOW_PRIORITY_JOBS, lease=lease)


def make_context(settings: Settings) -> Context:
    settings.ensure_data_dir()
    db = Database(settings.resolved_database_url)
    return Context(
        settings=settings,
        db=db,
        store=make_store(settings),
        signer=UrlSigner(settings.signing_secret()),
        jobs=make_queue(settings, db),
    )
