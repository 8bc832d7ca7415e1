"""What both engines share: :class:`DatabaseQueue`, a queue in the archive's own database.

Both the built-in queue (:mod:`neuropil.jobs.queue`) and procrastinate
(:mod:`neuropil.jobs.procrastinate_queue`) keep their jobs in tables of the archive's
database and insert them through the caller's session. What a ``dedup_key`` and a
``delay`` mean is therefore decided here once (:meth:`DatabaseQueue.enqueue`); an engine
says only how it finds the waiting job of a key, moves it and inserts a new one.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from neuropil.db.engine import Database
from neuropil.db.types import utcnow
from neuropil.jobs.protocol import DEFAULT_LEASE

__all__ = ["DatabaseQueue", "NewJob", "Waiting"]


@dataclass(frozen=True)
class NewJob:
    """A job to insert, as :meth:`DatabaseQueue.enqueue` decided it."""

    kind: str
    payload: dict[str, Any]
    dedup_key: str | None
    queued_at: datetime
    #: When it may run (``None``: at once).
    due: datetime | None


@dataclass(frozen=True)
class Waiting:
    """The job of a dedup key that waits to run, as an engine's table has it."""

    id: int
    #: When it was first enqueued: ``max_delay`` counts from here (``None``: unknown).
    first: datetime | None
    #: When it may run (``None``: at once, and no debounce moves it).
    due: datetime | None


@dataclass(eq=False)
class DatabaseQueue(ABC):
    """The part of :class:`~neuropil.jobs.protocol.JobQueue` both engines share: the
    settings, and enqueueing with dedup and debounce."""

    db: Database
    #: Job kinds that wait while others are runnable: long background work (building
    #: indexes) must not hold up the short jobs users wait for (validation).
    low_priority: frozenset[str] = field(default=frozenset(), kw_only=True)
    #: How long a running job belongs to its worker without a sign of life (a renewed
    #: lease, a heartbeat); then another worker runs it again.
    lease: timedelta = field(default=DEFAULT_LEASE, kw_only=True)

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
        """See :meth:`JobQueue.enqueue`: a waiting job of ``dedup_key`` is debounced
        instead of inserting another."""
        now = utcnow()
        due = now + timedelta(seconds=delay) if delay > 0 else None
        if dedup_key is not None and self._debounce(session, dedup_key, due, max_delay):
            return
        inserted = self._insert(session, NewJob(kind, payload, dedup_key, queued_at=now, due=due))
        if not inserted and dedup_key is not None:  # another transaction's job won
            self._debounce(session, dedup_key, due, max_delay)

    def _debounce(
        self, session: Session, key: str, due: datetime | None, max_delay: float | None
    ) -> bool:
        """Push the waiting job of ``key`` back to ``due`` (no later than ``max_delay``
        after its first enqueue); ``False`` if none waits."""
        waiting = self._waiting(session, key)
        if waiting is None:
            return False
        if due is None:
            return True
        if max_delay is not None and waiting.first is not None:
            due = min(due, waiting.first + timedelta(seconds=max_delay))
        if waiting.due is not None and due > waiting.due:
            self._reschedule(session, waiting.id, due)
        return True

    # -- what an engine provides ----------------------------------------------------------
    @abstractmethod
    def _waiting(self, session: Session, key: str) -> Waiting | None:
        """The job of ``key`` that waits to run, or ``None``."""

    @abstractmethod
    def _reschedule(self, session: Session, job_id: int, due: datetime) -> None:
        """Let the waiting job ``job_id`` run at ``due`` at the earliest."""

    @abstractmethod
    def _insert(self, session: Session, job: NewJob) -> bool:
        """Add ``job`` in the caller's transaction; ``False`` if a job of its dedup key
        already waits (inserted by a racing transaction), so none was added."""
