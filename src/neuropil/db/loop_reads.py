"""PostgreSQL reads on the event loop: the sync read code, its waits awaited in a greenlet.

A PostgreSQL read on a worker thread costs the server more than the read itself: under load
the event loop holds the GIL, and the thread waits to win it back after every statement
(``docs/design/performance.md``, fifth round). With :class:`LoopReads`, the same sync code
(services, :meth:`Database.read <neuropil.db.engine.Database.read>`) runs on the event loop in
a greenlet instead, as SQLAlchemy's asyncio extension runs sync code: each statement goes
through an asyncio driver (asyncpg; :func:`driver_url`), and its wait for the server is an
``await``, so the loop serves other requests meanwhile. No thread, no GIL hand-over.

Reads only, outside transactions (autocommit): under READ COMMITTED each statement sees
what was committed when it started, as in a read transaction
(:meth:`Database.statement_reads <neuropil.db.engine.Database.statement_reads>`). A write
inside raises :class:`~neuropil.db.engine.WouldWait` and the caller runs the work again on a
thread, as a SQLite read on the loop does.

The asyncio driver's connections belong to the loop that opened them: one :class:`LoopReads`
per event loop, disposed of when that loop's app stops.

No ping before each checkout (``pool_pre_ping``): it costs a round trip, and these reads are
one to three statements each. A connection the server has dropped (a restart, an idle
timeout) fails its first statement instead; SQLAlchemy then invalidates the pool's
connections opened before it, and the read runs once more, on new ones. A read is safe to
run twice.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Callable
from contextvars import ContextVar
from types import TracebackType
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

R = TypeVar("R")

#: Loop reads of one process in flight at once, each on a connection of its own; more wait
#: their turn, first come first served (an ``await``).
LOOP_READ_CONNECTIONS = 8

_CURRENT: ContextVar[LoopReads | None] = ContextVar("neuropil_loop_reads", default=None)


def driver_url(url: str) -> sa.URL:
    """The URL of the asyncio driver for the PostgreSQL database at ``url``: asyncpg, whose
    round trip costs about half of psycopg's ``AsyncConnection``'s in Python (measured:
    85 against 145 µs for a dandiset with its version and owners, through SQLAlchemy), or
    psycopg's when the URL carries connection parameters (``?sslmode=...``): those are
    libpq's, which asyncpg does not read."""
    parsed = sa.make_url(url)
    if parsed.query or not _importable("asyncpg"):
        return parsed.set(drivername="postgresql+psycopg")
    return parsed.set(drivername="postgresql+asyncpg")


def _importable(name: str) -> bool:
    try:
        __import__(name)
    except ImportError:
        return False
    return True


def available() -> bool:
    """Whether the greenlet package (SQLAlchemy's ``asyncio`` extra) is installed."""
    return _importable("greenlet")


class Turns:
    """At most ``n`` holders at once; the others wait, and get their turn in the order they
    came (a turn handed back goes straight to the first waiter, so a newcomer cannot take
    it). A free turn is taken without yielding to the event loop: ``anyio.Semaphore``
    yields once per acquisition (a checkpoint), an iteration of the loop per read, which
    was a tenth of a path lookup's CPU in cProfile."""

    def __init__(self, n: int) -> None:
        self._free = n
        self._waiting: collections.deque[asyncio.Future[None]] = collections.deque()

    async def __aenter__(self) -> None:
        if self._free > 0 and not self._waiting:
            self._free -= 1
            return
        turn = asyncio.get_running_loop().create_future()
        self._waiting.append(turn)
        try:
            await turn
        except BaseException:
            if turn.done() and not turn.cancelled():
                self._release()  # handed the turn, then cancelled: hand it on
            else:
                self._waiting.remove(turn)
            raise

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._release()

    def _release(self) -> None:
        while self._waiting:
            turn = self._waiting.popleft()
            if not turn.done():
                turn.set_result(None)
                return
        self._free += 1


class LoopReads:
    """Read sessions of the database at ``url`` (PostgreSQL) for one event loop."""

    def __init__(self, url: str, *, owner: object, echo: bool = False) -> None:
        from sqlalchemy.ext.asyncio import create_async_engine

        #: The :class:`~neuropil.db.engine.Database` these reads are of.
        self.owner = owner
        # A read waits for its turn here, in order of arrival, not for a connection in the
        # pool: a connection handed back wakes the pool's first waiter, but a read that
        # arrives meanwhile takes it, and the waiter queues again at the end. Under 16
        # concurrent requests that put some at 50-120 ms where the median was 15 ms. The
        # overflow is for a read that opens a second session inside the first.
        self._turns = Turns(LOOP_READ_CONNECTIONS)
        self.engine = create_async_engine(
            driver_url(url),
            echo=echo,
            isolation_level="AUTOCOMMIT",
            pool_size=LOOP_READ_CONNECTIONS,
            max_overflow=LOOP_READ_CONNECTIONS,
        )

    async def run(self, call: Callable[[], R]) -> R:
        """``call()`` on this loop, its :meth:`Database.read` sessions through the asyncio
        driver (waits awaited, not blocked on)."""
        from sqlalchemy.util.concurrency import greenlet_spawn

        async with self._turns:
            try:
                return await greenlet_spawn(self._within, call)
            except DBAPIError as exc:
                if not exc.connection_invalidated:
                    raise
            # The server had dropped the connection: the pool has let go of it and of those
            # opened before it; once more, on new connections.
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
