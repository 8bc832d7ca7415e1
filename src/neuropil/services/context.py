"""The objects every service function needs, built once per process."""

from __future__ import annotations

from dataclasses import dataclass

from neuropil.config import Settings
from neuropil.core.signing import UrlSigner
from neuropil.db.engine import Database
from neuropil.jobs.queue import JobQueue
from neuropil.storage import BlobStore, LocalBlobStore, MemoryBlobStore

#: Job kinds run only when nothing else is runnable (``neuropil.services.indexes.JOB``):
#: an index build can take seconds, a draft's validation must not wait behind a queue of them.
LOW_PRIORITY_JOBS = frozenset({"blob.index"})


@dataclass
class Context:
    settings: Settings
    db: Database
    store: BlobStore
    signer: UrlSigner
    jobs: JobQueue


def make_store(settings: Settings) -> BlobStore:
    if settings.storage == "local":
        return LocalBlobStore(settings.blob_root)
    if settings.storage == "memory":
        return MemoryBlobStore()
    raise ValueError(f"unknown storage backend {settings.storage!r} (use 'local' or 'memory')")


def make_context(settings: Settings) -> Context:
    settings.ensure_data_dir()
    db = Database(settings.resolved_database_url)
    return Context(
        settings=settings,
        db=db,
        store=make_store(settings),
        signer=UrlSigner(settings.signing_secret()),
        jobs=JobQueue(db, low_priority=LOW_PRIORITY_JOBS),
    )
