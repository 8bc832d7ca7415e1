"""Jobs on procrastinate (``NEUROPIL_JOBS=procrastinate``): PostgreSQL's own queue, run by
``neuropil worker`` processes on any number of machines.

procrastinate keeps its jobs in tables of the archive's PostgreSQL database
(``procrastinate_jobs``), so a job is still enqueued **in the caller's transaction**: the
insert goes through the caller's session and commits or rolls back with it; no broker. Its
workers take jobs with ``FOR UPDATE SKIP LOCKED``, wake on ``LISTEN/NOTIFY`` and send a
heartbeat; a job whose worker stopped beating for a lease is retried by another worker
(:meth:`ProcrastinateRunner._sweep`).

How neuropil maps onto procrastinate:

- a job kind is a task name; the payload travels as ``{"payload": ..., "queued_at": ...}``;
- ``dedup_key`` is both the ``queueing_lock`` (one waiting job per key, enforced by a
  unique index) and the ``lock`` (jobs of one key never run at once);
- a debounce moves the waiting job's ``scheduled_at``, bounded by ``max_delay`` after the
  ``queued_at`` of the first enqueue;
- low-priority kinds get a lower ``priority``.

This module is the only one that reads or writes procrastinate's tables.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import procrastinate
import sqlalchemy as sa
from procrastinate import exceptions as pexc
from procrastinate import jobs as pjobs
from procrastinate.retry import BaseRetryStrategy, RetryDecision
from procrastinate.schema import SchemaManager
from procrastinate.worker import Worker
from sqlalchemy.orm import Session

from neuropil.jobs.base import DatabaseQueue, NewJob, Waiting
from neuropil.jobs.protocol import (
    MAX_ATTEMPTS,
    Handler,
    JobRunner,
    PermanentJobError,
    retry_delay,
)

__all__ = ["QUEUE", "ProcrastinateQueue", "ProcrastinateRunner"]

log = logging.getLogger(__name__)

#: The procrastinate queue neuropil's jobs use.
QUEUE = "neuropil"
#: procrastinate runs higher priorities first; low-priority kinds wait behind the rest.
LOW_PRIORITY = -10
#: Seconds between a worker's looks for due jobs. New jobs wake workers at once (NOTIFY), but
#: a delayed job (a debounced validation, 0.3 s) becomes due silently: this bounds its wait.
POLL_INTERVAL = 0.5
#: Serializes schema installation between processes starting at once (any fixed number).
_SCHEMA_LOCK = 0x6E70_6A6F_6273  # "npjobs"

_ACTIVE = "status IN ('todo', 'doing')"
_WAITING = sa.text(
    "SELECT id, scheduled_at, args->>'queued_at' AS queued_at FROM procrastinate_jobs "
    "WHERE queueing_lock = :key AND status = 'todo' FOR UPDATE"
)
_INSERT = sa.text(
    "INSERT INTO procrastinate_jobs "
    "(queue_name, task_name, priority, lock, queueing_lock, args, scheduled_at) "
    "VALUES (:queue, :kind, :priority, :key, :key, CAST(:args AS jsonb), :due) "
    "ON CONFLICT (queueing_lock) WHERE status = 'todo' DO NOTHING RETURNING id"
)


@dataclass(eq=False)
class ProcrastinateQueue(DatabaseQueue):
    """The :class:`~neuropil.jobs.protocol.JobQueue` on procrastinate's tables. A racing
    transaction's insert of the same key waits on the unique index until the first one
    ends, then finds its job."""

    engine = "procrastinate"
    runs_beside_requests = False

    def __post_init__(self) -> None:
        if self.db.is_sqlite:
            raise ValueError(
                "NEUROPIL_JOBS=procrastinate needs PostgreSQL (NEUROPIL_DATABASE_URL="
                "postgresql://...); on SQLite use the built-in queue (NEUROPIL_JOBS=inprocess)."
            )

    def prepare(self) -> None:
        """Install procrastinate's schema in the archive's database unless it is there."""
        with self.db.write() as s:
            s.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _SCHEMA_LOCK})
            if s.scalar(sa.text("SELECT to_regclass('procrastinate_jobs')")) is None:
                log.info(
                    "installing procrastinate's schema (version %s)", procrastinate.__version__
                )
                # The schema holds '%' characters: run it with no parameters at all.
                cursor = s.connection().connection.cursor()
                cursor.execute(SchemaManager.get_schema())
                cursor.close()
            # gave_up() looks for the latest job of a key, whatever its status.
            s.execute(
                sa.text(
                    "CREATE INDEX IF NOT EXISTS neuropil_procrastinate_jobs_key "
                    "ON procrastinate_jobs (queueing_lock, id)"
                )
            )

    # -- how it enqueues (see DatabaseQueue.enqueue) ---------------------------------------
    def _waiting(self, session: Session, key: str) -> Waiting | None:
        waiting = session.execute(_WAITING, {"key": key}).first()
        if waiting is None:
            return None
        first = datetime.fromisoformat(waiting.queued_at) if waiting.queued_at else None
        return Waiting(waiting.id, first=first, due=waiting.scheduled_at)

    def _reschedule(self, session: Session, job_id: int, due: datetime) -> None:
        session.execute(
            sa.text("UPDATE procrastinate_jobs SET scheduled_at = :due WHERE id = :id"),
            {"due": due, "id": job_id},
        )

    def _insert(self, session: Session, job: NewJob) -> bool:
        args = json.dumps({"payload": job.payload, "queued_at": job.queued_at.isoformat()})
        priority = LOW_PRIORITY if job.kind in self.low_priority else 0
        inserted = session.execute(
            _INSERT,
            {
                "queue": QUEUE,
                "kind": job.kind,
                "priority": priority,
                "key": job.dedup_key,
                "args": args,
                "due": job.due,
            },
        ).first()
        return inserted is not None

    # -- what services use ----------------------------------------------------------------
    def is_queued(self, session: Session, dedup_key: str) -> bool:
        # Two partial indexes answer this: queueing_lock of waiting jobs, lock of running ones.
        found = session.scalar(
            sa.text(
                "SELECT 1 FROM procrastinate_jobs WHERE (queueing_lock = :k AND status = 'todo')"
                " OR (lock = :k AND status = 'doing') LIMIT 1"
            ),
            {"k": dedup_key},
        )
        return found is not None

    def active_keys(self, session: Session) -> set[str]:
        rows = session.scalars(
            sa.text(
                f"SELECT queueing_lock FROM procrastinate_jobs WHERE {_ACTIVE} "
                "AND queueing_lock IS NOT NULL"
            )
        )
        return set(rows)

    def gave_up(self, session: Session, dedup_key: str) -> str | None:
        latest = session.execute(
            sa.text(
                "SELECT status, attempts FROM procrastinate_jobs WHERE queueing_lock = :k "
                "ORDER BY id DESC LIMIT 1"
            ),
            {"k": dedup_key},
        ).first()
        if latest is None or latest.status != "failed":
            return None
        # procrastinate keeps no error text: the worker's log has the tracebacks.
        return f"failed after {latest.attempts + 1} attempt(s); see the worker's log"

    def pending(self) -> int:
        with self.db.read() as s:
            query = f"SELECT count(*) FROM procrastinate_jobs WHERE {_ACTIVE}"
            return int(s.scalar(sa.text(query)) or 0)

    def purge_finished(self, older_than: timedelta) -> int:
        with self.db.write() as s:
            res = s.execute(
                sa.text(
                    "DELETE FROM procrastinate_jobs j WHERE j.status = 'succeeded' AND NOT "
                    "EXISTS (SELECT 1 FROM procrastinate_events e WHERE e.job_id = j.id "
                    "AND e.at > now() - make_interval(secs => :secs))"
                ),
                {"secs": older_than.total_seconds()},
            )
            return int(getattr(res, "rowcount", 0) or 0)

    def runner(self, handlers: dict[str, Handler], *, concurrency: int) -> JobRunner:
        return ProcrastinateRunner(self, handlers, concurrency=concurrency)

    @property
    def conninfo(self) -> str:
        """The database's libpq URL, for procrastinate's own connections."""
        url = sa.make_url(self.db.url).set(drivername="postgresql")
        return url.render_as_string(hide_password=False)


class _Retry(BaseRetryStrategy):
    """neuropil's retry policy: back off exponentially, up to :data:`MAX_ATTEMPTS` runs;
    a :class:`PermanentJobError` fails the job at once."""

    def get_retry_decision(
        self, *, exception: BaseException, job: pjobs.Job
    ) -> RetryDecision | None:
        attempt = job.attempts + 1  # procrastinate counts the runs before this one
        if isinstance(exception, PermanentJobError) or attempt >= MAX_ATTEMPTS:
            return None
        return RetryDecision(retry_in={"seconds": int(retry_delay(attempt).total_seconds())})


class ProcrastinateRunner:
    """A procrastinate worker in a thread of its own (with its own event loop), plus the
    sweep that hands the jobs of dead workers to live ones."""

    def __init__(
        self, queue: ProcrastinateQueue, handlers: dict[str, Handler], *, concurrency: int
    ) -> None:
        self.queue = queue
        self.concurrency = max(1, concurrency)
        self.app = procrastinate.App(
            connector=procrastinate.PsycopgConnector(conninfo=queue.conninfo)
        )
        for kind, handler in handlers.items():
            self.app.task(name=kind, queue=QUEUE, retry=_Retry())(_task(handler))
        self._thread: threading.Thread | None = None
        self._worker: Worker | None = None
        self._ready = threading.Event()
        self._failure: BaseException | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="neuropil-procrastinate")
        self._thread.start()
        self._ready.wait(60)
        if self._failure is not None:
            raise RuntimeError(f"the procrastinate worker did not start: {self._failure}")

    def stop(self, timeout: float = 10.0) -> None:
        if self._worker is not None:
            self._worker.stop()  # type: ignore[no-untyped-call]  # thread-safe
        if self._thread is not None:
            self._thread.join(timeout + 5)

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:
            self._failure = exc
            log.exception("the procrastinate worker stopped")
        finally:
            self._ready.set()

    async def _main(self) -> None:
        lease = self.queue.lease.total_seconds()
        async with self.app.open_async():
            self._worker = Worker(
                self.app,
                queues=[QUEUE],
                concurrency=self.concurrency,
                name="neuropil",
                fetch_job_polling_interval=POLL_INTERVAL,
                install_signal_handlers=False,
                update_heartbeat_interval=lease / 3,
                stalled_worker_timeout=lease,
                shutdown_graceful_timeout=lease / 2,
            )
            sweeper = asyncio.create_task(self._sweep())
            self._ready.set()
            try:
                await self._worker.run()  # type: ignore[no-untyped-call]
            finally:
                sweeper.cancel()

    async def _sweep(self) -> None:
        """Every third of a lease: retry the running jobs of workers that sent no heartbeat
        for a lease (killed, frozen, cut off), or fail them after :data:`MAX_ATTEMPTS`."""
        lease = self.queue.lease.total_seconds()
        manager = self.app.job_manager
        while True:
            await asyncio.sleep(lease / 3)
            try:
                stalled = list(await manager.get_stalled_jobs(seconds_since_heartbeat=lease))
            except Exception:
                log.exception("could not look for stalled jobs")
                continue
            for job in stalled:
                await self._recover(job)

    async def _recover(self, job: pjobs.Job) -> None:
        manager = self.app.job_manager
        assert job.id is not None
        try:
            if job.attempts + 1 >= MAX_ATTEMPTS:
                log.warning(
                    "job %s (%s) abandoned: its worker died every time", job.id, job.task_name
                )
                await manager.finish_job_by_id_async(job.id, pjobs.Status.FAILED, False)
            else:
                log.info("job %s (%s) of a dead worker runs again", job.id, job.task_name)
                await manager.retry_job(job)
        except pexc.UniqueViolation:
            # A newer job of the same key already waits and will do the same work.
            await manager.finish_job_by_id_async(job.id, pjobs.Status.FAILED, False)
        except Exception:  # another sweeper got there first, or the database blinked
            log.debug("could not recover job %s", job.id, exc_info=True)


def _task(handler: Handler) -> Any:
    def run(payload: dict[str, Any], queued_at: str | None = None) -> None:
        handler(payload)

    return run
