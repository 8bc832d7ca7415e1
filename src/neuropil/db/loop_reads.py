"""PostgreSQL reads on the event loop: the sync read code, its waits awaited in a greenlet.

A PostgreSQL read on a worker thread costs the server more than the read itself: under load
the event loop holds the GIL, and the thread waits to win it back after every statement
(``docs/design/performance.md``, seventh round). With :class:`LoopReads`, the same sync code
(services, :meth:`Database.read <neuropil.db.engine.Database.read>`) runs on the event loop in
a greenlet instead, as SQLAlchemy's asyncio extension runs sync code: each statement goes
through psycopg's ``AsyncConnection``, and its wait for the server is an ``await``, so the
loop serves other requests meanwhile. No thread, no GIL hand-over.

Reads only, outside transactions (autocommit): under READ COMMITTED each statement sees
what was committed when it started, as in a read transaction
(:meth:`Database.statement_reads <neuropil.db.engine.Database.statement_reads>`). A write
inside raises :class:`~neuropil.db.engine.WouldWait` and the caller runs the work again on a
thread, as a SQLite read on the loop does.

The asyncio driver's connections belong to the loop that opened them: one :class:`LoopReads`
per event loop, disposed of when that loop's app stops.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from typing import TypeVar

from sqlalchemy.orm import Session, sessionmaker

R = TypeVar("R")

#: Connections of one process's loop reads: one per read in flight; more wait (an ``await``).
LOOP_READ_CONNECTIONS = 8

_CURRENT: ContextVar[LoopReads | None] = ContextVar("neuropil_loop_reads", default=None)


def available() -> bool:
    """Whether the greenlet package (SQLAlchemy's ``asyncio`` extra) is installed."""
    try:
        import greenlet  # noqa: F401
    except ImportError:
        return False
    return True


class LoopReads:
    """Read sessions of the database at ``url`` (PostgreSQL) for one event loop."""

    def __init__(self, url: str, *, owner: object, echo: bool = False) -> None:
        from sqlalchemy.ext.asyncio import create_async_engine

        #: The :class:`~neuropil.db.engine.Database` these reads are of.
        self.owner = owner
        self.engine = create_async_engine(
            url,
            echo=echo,
            isolation_level="AUTOCOMMIT",
            pool_size=LOOP_READ_CONNECTIONS,
            max_overflow=0,
            pool_pre_ping=True,
        )
        self.sessions: sessionmaker[Session] = sessionmaker(
            self.engine.sync_engine, expire_on_commit=False
        )

    async def run(self, call: Callable[[], R]) -> R:
        """``call()`` on this loop, its :meth:`Database.read` sessions through the asyncio
        driver (waits awaited, not blocked on)."""
        from sqlalchemy.util.concurrency import greenlet_spawn

        return await greenlet_spawn(self._within, call)

    def _within(self, call: Callable[[], R]) -> R:
        token = _CURRENT.set(self)
        try:
            return call()
        finally:
            _CURRENT.reset(token)

    async def dispose(self) -> None:
        await self.engine.dispose()


def current(owner: object) -> LoopReads | None:
    """The loop reads of ``owner`` running in this context, if any."""
    reads = _CURRENT.get()
    return reads if reads is not None and reads.owner is owner else None
