"""Where the hot reads run: on the event loop when their data answers without blocking it.

FastAPI runs a plain ``def`` handler on one of anyio's 40 worker threads. Under 16
concurrent requests, 16 threads took turns at the GIL: each database call releases it and
has to win it back, with the event loop (which parses the requests and writes the answers)
in the same queue. On an idle 2-core machine that cost 130-200 context switches and 2-3 ms
more CPU per request, more than the request's own work (``docs/design/performance.md``).

A handler marked :func:`short_read` (a few prebuilt statements and a page of rows at most)
runs on the event loop itself instead, without a thread, when :func:`install` found that
its store's objects are local files and its database answers without blocking the loop:

* SQLite answers in this process. Nothing there may wait, and nothing does: the database
  reads on connections of their own and raises :class:`~neuropil.db.engine.WouldWait`
  rather than wait for a connection, a lock or a write
  (:meth:`~neuropil.db.engine.Database.without_waiting`);
* PostgreSQL is read through its asyncio driver, the handler's sync code in a greenlet
  (:mod:`neuropil.db.loop_reads`): every wait for the server is an ``await``, and the loop
  serves other requests meanwhile. A write raises ``WouldWait``.

On ``WouldWait`` the handler runs again on a worker thread, where waiting blocks no one. A
read is safe to run twice.

Everywhere else (a store across a network, or no greenlet package) a marked handler runs on
a worker thread, but at most :data:`SHORT_READ_THREADS` of them at once (their own
:class:`anyio.CapacityLimiter`, apart from the 40 threads of unmarked handlers): a few
threads keep the server busy while Python works on another request, and many only queue at
the GIL. A slow handler (a search, an upload) is never marked, so it cannot hold these
threads. Writes are never marked: one may wait up to SQLite's ``busy_timeout`` for the
write lock.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

import anyio
from anyio.lowlevel import RunVar

from neuropil.db import loop_reads
from neuropil.db.engine import Database, WouldWait
from neuropil.db.loop_reads import LoopReads
from neuropil.services.context import Context

__all__ = [
    "SHORT_READ_THREADS",
    "install",
    "is_short_read",
    "on_loop",
    "short_read",
    "uninstall",
]

P = ParamSpec("P")
R = TypeVar("R")

#: The database whose hot reads run on this event loop (``None``: they run on threads).
_ON_LOOP: RunVar[Database | None] = RunVar("neuropil_reads_on_loop", default=None)
#: The PostgreSQL reads of this event loop through the asyncio driver (``None``: none).
_LOOP_READS: RunVar[LoopReads | None] = RunVar("neuropil_loop_reads", default=None)
#: The database of the running event loop's app (for the short reads run on threads).
_DATABASE: RunVar[Database | None] = RunVar("neuropil_reads_database", default=None)
#: How many short reads run on worker threads at once (per process).
SHORT_READ_THREADS = 4
_LIMITER: RunVar[anyio.CapacityLimiter] = RunVar("neuropil_short_read_limiter")


def _limiter() -> anyio.CapacityLimiter:
    try:
        return _LIMITER.get()
    except LookupError:
        limiter = anyio.CapacityLimiter(SHORT_READ_THREADS)
        _LIMITER.set(limiter)
        return limiter


def on_loop(ctx: Context) -> bool:
    """Whether the hot reads of ``ctx`` can run on the event loop: its store's objects are
    local files, and its database answers in this process (SQLite) or through the asyncio
    driver (PostgreSQL, with the greenlet package)."""
    if not ctx.store.capabilities.local_files:
        return False
    return ctx.db.reads_without_waiting or loop_reads.available()


def install(ctx: Context) -> None:
    """Decide where the hot reads of the running event loop run (the app's start-up)."""
    here = on_loop(ctx)
    _ON_LOOP.set(ctx.db if here and ctx.db.reads_without_waiting else None)
    _LOOP_READS.set(ctx.db.loop_reads() if here and not ctx.db.reads_without_waiting else None)
    _DATABASE.set(ctx.db)


async def uninstall() -> None:
    """Close what :func:`install` opened for this event loop (the app's shutdown)."""
    reads = _LOOP_READS.get()
    _LOOP_READS.set(None)
    if reads is not None:
        await reads.dispose()


def _outside_transactions(db: Database | None, call: Callable[[], R]) -> R:
    """``call()`` with the reads of ``db`` outside transactions (on a worker thread;
    :meth:`~neuropil.db.engine.Database.statement_reads`: PostgreSQL only)."""
    if db is None:
        return call()
    with db.statement_reads():
        return call()


def short_read(handler: Callable[P, R]) -> Callable[P, Awaitable[R]]:
    """Mark a ``def`` handler as a short read (FastAPI then sees an ``async`` handler with
    the same signature): run on the event loop where :func:`install` allows it, on a worker
    thread otherwise or when it would wait."""

    @functools.wraps(handler)
    async def run(*args: P.args, **kwargs: P.kwargs) -> R:
        call = functools.partial(handler, *args, **kwargs)
        db = _ON_LOOP.get()
        if db is not None:
            try:
                with db.without_waiting():
                    return call()
            except WouldWait:
                pass  # it would have waited: again, on a thread
        reads = _LOOP_READS.get()
        if reads is not None:
            try:
                return await reads.run(call)
            except WouldWait:
                pass  # it writes: again, on a thread
        return await anyio.to_thread.run_sync(
            _outside_transactions, _DATABASE.get(), call, limiter=_limiter()
        )

    setattr(run, _MARK, True)
    return run


_MARK = "__neuropil_short_read__"


def is_short_read(handler: Callable[..., object]) -> bool:
    """Whether ``handler`` is a :func:`short_read` handler."""
    return getattr(handler, _MARK, False) is True
