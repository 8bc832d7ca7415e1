"""Enqueue and claim jobs in the database."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

from neuropil.db.engine import Database
from neuropil.db.models import Job, JobState
from neuropil.db.types import utcnow

#: A claimed job whose lease is not renewed within this time is claimed again. Workers renew
#: it every LEASE/3 while the handler runs, so a long job keeps it and a dead process loses
#: it within a minute.
LEASE = timedelta(minutes=1)
#: Attempts before a job is given up; also bounds jobs that crash their process every time.
MAX_ATTEMPTS = 5


class JobQueue:
    def __init__(self, db: Database, *, low_priority: frozenset[str] = frozenset()) -> None:
        self.db = db
        self.wakeup = threading.Event()
        #: Job kinds that wait while others are runnable: long background work (building
        #: indexes) must not hold up the short jobs users wait for (validation).
        self.low_priority = low_priority

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
        """Add a job in the caller's transaction; workers wake when it commits.

        With a ``dedup_key`` at most one such job waits in the queue. ``delay`` debounces:
        the job runs ``delay`` seconds after the last enqueue that asked for it, but no
        later than ``max_delay`` seconds after the first, so a steady stream of changes
        still gets the job run now and then.
        """
        now = utcnow()
        if dedup_key is not None:
            queued = session.execute(
                sa.select(Job.id, Job.created, Job.run_after).where(
                    Job.dedup_key == dedup_key, Job.state == JobState.QUEUED
                )
            ).first()
            if queued is not None:
                if delay > 0:
                    job_id, created, run_after = queued
                    due = now + timedelta(seconds=delay)
                    if max_delay is not None:
                        due = min(due, created + timedelta(seconds=max_delay))
                    if due > run_after:
                        session.execute(
                            sa.update(Job).where(Job.id == job_id).values(run_after=due)
                        )
                return
        run_after = now + timedelta(seconds=delay) if delay > 0 else now
        session.add(
            Job(kind=kind, payload=payload, dedup_key=dedup_key, run_after=run_after, created=now)
        )
        event.listen(session, "after_commit", lambda _s: self.wakeup.set(), once=True)

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

    def is_queued(self, session: Session, dedup_key: str) -> bool:
        """Whether a job with this key waits or runs (in the caller's transaction)."""
        return (
            session.scalar(
                sa.select(Job.id).where(
                    Job.dedup_key == dedup_key,
                    Job.state.in_([JobState.QUEUED, JobState.RUNNING]),
                )
            )
            is not None
        )

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
            job.locked_until = now + LEASE
            s.flush()
            s.expunge(job)
            return job

    def _order(self) -> list[Any]:
        if not self.low_priority:
            return [Job.id]
        later = sa.case((Job.kind.in_(sorted(self.low_priority)), 1), else_=0)
        return [later, Job.id]

    def renew(self, job_id: int) -> None:
        """Extend a running job's lease (the worker is alive)."""
        with self.db.write() as s:
            s.execute(
                sa.update(Job)
                .where(Job.id == job_id, Job.state == JobState.RUNNING)
                .values(locked_until=utcnow() + LEASE)
            )

    def finish(self, job_id: int) -> None:
        with self.db.write() as s:
            s.execute(
                sa.update(Job)
                .where(Job.id == job_id)
                .values(state=JobState.DONE, finished=utcnow(), locked_until=None)
            )

    def fail(self, job_id: int, error: str, *, retry_in: timedelta | None) -> None:
        with self.db.write() as s:
            values: dict[str, Any] = {"last_error": error[:4000], "locked_until": None}
            if retry_in is None:
                values.update(state=JobState.FAILED, finished=utcnow())
            else:
                values.update(state=JobState.QUEUED, run_after=utcnow() + retry_in)
            s.execute(sa.update(Job).where(Job.id == job_id).values(**values))

    def pending(self) -> int:
        with self.db.read() as s:
            return (
                s.scalar(
                    sa.select(sa.func.count(Job.id)).where(
                        Job.state.in_([JobState.QUEUED, JobState.RUNNING])
                    )
                )
                or 0
            )

    def purge_finished(self, older_than: timedelta) -> int:
        with self.db.write() as s:
            res = s.execute(
                sa.delete(Job).where(
                    Job.state == JobState.DONE, Job.finished < utcnow() - older_than
                )
            )
            return int(getattr(res, "rowcount", 0) or 0)
