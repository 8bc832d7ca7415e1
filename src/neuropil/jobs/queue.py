"""The built-in job queue (``NEUROPIL_JOBS=inprocess``): the ``jobs`` table of the archive's
own database, drained by :class:`~neuropil.jobs.worker.Workers` threads in the server
process and in ``neuropil worker`` processes.

A worker claims a job under a lease (``locked_until``) that it renews while the handler
runs; a job whose worker died is claimed again once its lease runs out, by whichever
process claims next. No process ever resets another's jobs, so any number of server and
worker processes can share the table: on PostgreSQL claims use ``FOR UPDATE SKIP LOCKED``,
on SQLite ``BEGIN IMMEDIATE`` serializes them.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

from neuropil.db.models import Job, JobState
from neuropil.db.types import utcnow
from neuropil.jobs.base import DatabaseQueue, NewJob, Waiting
from neuropil.jobs.protocol import MAX_ATTEMPTS, Handler, JobRunner
from neuropil.jobs.worker import Workers

__all__ = ["ACTIVE", "TableQueue"]

#: The states of jobs that wait or run.
ACTIVE = (JobState.QUEUED, JobState.RUNNING)


@dataclass(eq=False)
class TableQueue(DatabaseQueue):
    """The built-in :class:`~neuropil.jobs.protocol.JobQueue` (and the claims its workers
    make). Workers renew a claimed job's lease every third of it while the handler runs.

    Two transactions racing to enqueue one key may both insert (nothing in the table
    forbids it); both jobs then run, which idempotent handlers allow."""

    engine = "inprocess"
    runs_beside_requests = True

    #: Set when a transaction that enqueued a job commits: this process's idle workers
    #: wake at once (workers of other processes find the job at their next poll).
    wakeup: threading.Event = field(default_factory=threading.Event, init=False)

    def prepare(self) -> None:
        """Nothing to do: the ``jobs`` table is part of the archive's schema."""

    # -- how it enqueues (see DatabaseQueue.enqueue) ---------------------------------------
    def _waiting(self, session: Session, key: str) -> Waiting | None:
        queued = session.execute(
            sa.select(Job.id, Job.created, Job.run_after).where(
                Job.dedup_key == key, Job.state == JobState.QUEUED
            )
        ).first()
        return None if queued is None else Waiting(*queued)

    def _reschedule(self, session: Session, job_id: int, due: datetime) -> None:
        session.execute(sa.update(Job).where(Job.id == job_id).values(run_after=due))

    def _insert(self, session: Session, job: NewJob) -> bool:
        run_after = job.queued_at if job.due is None else job.due
        session.add(
            Job(
                kind=job.kind,
                payload=job.payload,
                dedup_key=job.dedup_key,
                run_after=run_after,
                created=job.queued_at,
            )
        )
        event.listen(session, "after_commit", lambda _s: self.wakeup.set(), once=True)
        return True

    # -- what services use ----------------------------------------------------------------
    def is_queued(self, session: Session, dedup_key: str) -> bool:
        return (
            session.scalar(
                sa.select(Job.id).where(Job.dedup_key == dedup_key, Job.state.in_(ACTIVE))
            )
            is not None
        )

    def active_keys(self, session: Session) -> set[str]:
        keys = session.scalars(
            sa.select(Job.dedup_key).where(Job.state.in_(ACTIVE), Job.dedup_key.is_not(None))
        )
        return {k for k in keys if k is not None}

    def gave_up(self, session: Session, dedup_key: str) -> str | None:
        latest = session.execute(
            sa.select(Job.state, Job.last_error)
            .where(Job.dedup_key == dedup_key)
            .order_by(Job.id.desc())
            .limit(1)
        ).first()
        if latest is None or latest.state != JobState.FAILED:
            return None
        return latest.last_error or "failed"

    def pending(self) -> int:
        with self.db.read() as s:
            return s.scalar(sa.select(sa.func.count(Job.id)).where(Job.state.in_(ACTIVE))) or 0

    def purge_finished(self, older_than: timedelta) -> int:
        with self.db.write() as s:
            res = s.execute(
                sa.delete(Job).where(
                    Job.state == JobState.DONE, Job.finished < utcnow() - older_than
                )
            )
            return int(getattr(res, "rowcount", 0) or 0)

    def runner(self, handlers: dict[str, Handler], *, concurrency: int) -> JobRunner:
        return Workers(self, handlers, threads=concurrency)

    # -- what workers use -----------------------------------------------------------------
    def next_due(self) -> float | None:
        """Seconds until the earliest queued job may run (0 if one is due), or ``None``."""
        with self.db.read() as s:
            first = s.scalar(
                sa.select(sa.func.min(Job.run_after)).where(Job.state == JobState.QUEUED)
            )
        if first is None:
            return None
        if first.tzinfo is None:  # an aggregate bypasses the column type on SQLite
            first = datetime.fromisoformat(str(first)).replace(tzinfo=UTC)
        return max(0.0, (first - utcnow()).total_seconds())

    def claim(self) -> Job | None:
        """Take the oldest runnable job (or one whose lease expired), or ``None``."""
        now = utcnow()
        with self.db.write() as s:
            q = (
                sa.select(Job)
                .where(
                    sa.or_(
                        sa.and_(Job.state == JobState.QUEUED, Job.run_after <= now),
                        sa.and_(Job.state == JobState.RUNNING, Job.locked_until < now),
                    )
                )
                .order_by(*self._order())
                .limit(1)
            )
            if not self.db.is_sqlite:
                q = q.with_for_update(skip_locked=True)
            job = s.scalar(q)
            if job is None:
                return None
            if job.state == JobState.RUNNING and job.attempts >= MAX_ATTEMPTS:
                # Its lease ran out on the last attempt: the worker (or its process) died
                # every time. Give up instead of crashing the next worker too.
                job.state = JobState.FAILED
                job.finished = now
                job.locked_until = None
                job.last_error = f"abandoned after {job.attempts} attempts (lease expired)"
                return None
            job.state = JobState.RUNNING
            job.attempts += 1
            job.locked_until = now + self.lease
            s.flush()
            s.expunge(job)
            return job

    def _order(self) -> list[Any]:
        if not self.low_priority:
            return [Job.id]
        later = sa.case((Job.kind.in_(sorted(self.low_priority)), 1), else_=0)
        return [later, Job.id]

    def _mine(self, job: Job) -> sa.ColumnElement[bool]:
        """The job as this claim left it: running, and not claimed again since."""
        return sa.and_(
            Job.id == job.id, Job.state == JobState.RUNNING, Job.attempts == job.attempts
        )

    def renew(self, job: Job) -> bool:
        """Extend a running job's lease; ``False`` if another worker has claimed it."""
        with self.db.write() as s:
            res = s.execute(
                sa.update(Job).where(self._mine(job)).values(locked_until=utcnow() + self.lease)
            )
            return bool(getattr(res, "rowcount", 0))

    def finish(self, job: Job) -> None:
        with self.db.write() as s:
            s.execute(
                sa.update(Job)
                .where(self._mine(job))
                .values(state=JobState.DONE, finished=utcnow(), locked_until=None)
            )

    def fail(self, job: Job, error: str, *, retry_in: timedelta | None) -> None:
        with self.db.write() as s:
            values: dict[str, Any] = {"last_error": error[:4000], "locked_until": None}
            if retry_in is None:
                values.update(state=JobState.FAILED, finished=utcnow())
            else:
                values.update(state=JobState.QUEUED, run_after=utcnow() + retry_in)
            s.execute(sa.update(Job).where(self._mine(job)).values(**values))
