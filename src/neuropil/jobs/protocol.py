"""What services ask of a job engine, and what runs the jobs: :class:`JobQueue`, :class:`JobRunner`.

Services enqueue in their own transaction and ask a few questions about queued work (is a
job for this object queued or running? did it give up?). Nothing else in neuropil reads an
engine's tables, so swapping the engine is one module: the built-in queue
(:mod:`neuropil.jobs.queue`, the archive's ``jobs`` table) or procrastinate
(:mod:`neuropil.jobs.procrastinate_queue`, PostgreSQL only). See ``docs/design/jobs.md``.

Every engine gives the same guarantees: a job enqueued in a transaction exists if and only
if the transaction commits; a job whose worker dies (SIGKILL, power cut) runs again
elsewhere after its lease; failures are retried with backoff up to :data:`MAX_ATTEMPTS`.
A job may therefore run more than once, so handlers are idempotent and the database (unique
keys, conditional updates) has the last word on their results.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any, Protocol

from sqlalchemy.orm import Session

#: A job handler: a plain function of the job's JSON payload.
Handler = Callable[[dict[str, Any]], None]

#: Attempts before a job is given up; also bounds jobs that crash their process every time.
MAX_ATTEMPTS = 5
#: How long a running job belongs to its worker without a sign of life (a renewed lease, a
#: heartbeat). A worker that dies loses its jobs to the others after this time.
DEFAULT_LEASE = timedelta(seconds=20)


class PermanentJobError(Exception):
    """A job that can never succeed (its object is gone): fail it without retrying."""


def retry_delay(attempt: int) -> timedelta:
    """The wait before retrying a job whose ``attempt``-th run (1-based) failed."""
    return timedelta(seconds=2**attempt)


class JobRunner(Protocol):
    """Runs jobs in background threads of the calling process until stopped."""

    def start(self) -> None:
        """Start taking jobs (returns at once)."""

    def stop(self, timeout: float = 10.0) -> None:
        """Take no more jobs; wait up to ``timeout`` seconds for the running ones."""


class JobQueue(Protocol):
    """A durable job queue; see the module docstring for the guarantees."""

    #: The engine's name, as ``NEUROPIL_JOBS`` spells it.
    engine: str
    #: Whether API server processes run jobs too (``NEUROPIL_JOB_WORKERS`` threads). When
    #: false, only ``neuropil worker`` processes run them.
    runs_beside_requests: bool

    def prepare(self) -> None:
        """Create what the engine keeps in the database, if missing (idempotent, safe to
        call from several processes at once)."""

    def enqueue(
        self,
        session: Session,
        kind: str,
        payload: dict[str, Any],
        *,
        dedup_key: str | None = None,
        delay: float = 0.0,
        max_delay: float | None = None,
    ) -> None:
        """Add a job in the caller's transaction (it exists once that commits).

        With a ``dedup_key`` at most one such job waits in the queue; enqueueing again is a
        no-op. ``delay`` debounces: the job runs ``delay`` seconds after the last enqueue
        that asked for it, but no later than ``max_delay`` seconds after the first.
        """

    def is_queued(self, session: Session, dedup_key: str) -> bool:
        """Whether a job with this key waits or runs (read in the caller's transaction)."""

    def active_keys(self, session: Session) -> set[str]:
        """The dedup keys of all jobs that wait or run."""

    def gave_up(self, session: Session, dedup_key: str) -> str | None:
        """Why the latest job with this key failed for good, or ``None`` if it did not."""

    def pending(self) -> int:
        """How many jobs wait or run."""

    def purge_finished(self, older_than: timedelta) -> int:
        """Forget jobs that succeeded longer ago than ``older_than``; returns how many."""

    def runner(self, handlers: dict[str, Handler], *, concurrency: int) -> JobRunner:
        """A runner of up to ``concurrency`` jobs at a time with these handlers."""
