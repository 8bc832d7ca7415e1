"""Where a handler marked ``short_read`` runs: on the event loop when the data is in the
process, on a worker thread otherwise, and on a thread again when it would have waited."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
import sqlalchemy as sa

from neuropil.config import Settings
from neuropil.db import loop_reads
from neuropil.db.engine import Database, sqlite_url
from neuropil.server import reads
from neuropil.services.context import Context, make_context


@pytest.fixture(params=["local", "memory"])
def ctx(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Context]:
    made = make_context(Settings(data_dir=tmp_path / "data", storage=request.param))
    yield made
    made.db.dispose()


def _run(ctx: Context, *, write: bool = False, install: bool = True) -> tuple[bool, int]:
    """Whether the handler ran on the event loop's thread, and what it read."""

    @reads.short_read
    def handler(n: int) -> tuple[int, int]:
        if write:
            with ctx.db.write() as s:
                s.execute(sa.select(1))
        with ctx.db.read() as s:
            return threading.get_ident(), int(s.scalar(sa.select(sa.literal(n))) or 0)

    async def main() -> tuple[bool, int]:
        if install:
            reads.install(ctx)
        thread, value = await handler(7)
        return thread == threading.get_ident(), value

    return anyio.run(main)


def test_on_the_loop_only_when_the_data_is_in_the_process(ctx: Context) -> None:
    # SQLite and local files: no thread; an in-memory store stands for one across a network.
    assert reads.on_loop(ctx) is ctx.store.capabilities.local_files
    assert _run(ctx) == (reads.on_loop(ctx), 7)


def test_a_read_that_would_wait_runs_again_on_a_thread(ctx: Context) -> None:
    assert _run(ctx, write=True) == (False, 7)


def test_without_the_apps_start_up_on_a_thread(ctx: Context) -> None:
    assert _run(ctx, install=False) == (False, 7)


def test_short_reads_on_threads_run_a_few_at_a_time(tmp_path: Path) -> None:
    # A store across a network (in memory here): marked reads run on threads, but never more
    # than SHORT_READ_THREADS at once, however many requests wait.
    made = make_context(Settings(data_dir=tmp_path / "data", storage="memory"))
    running = peak = 0
    lock = threading.Lock()

    @reads.short_read
    def handler() -> None:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        threading.Event().wait(0.02)
        with lock:
            running -= 1

    async def main() -> None:
        reads.install(made)
        async with anyio.create_task_group() as tg:
            for _ in range(4 * reads.SHORT_READ_THREADS):
                tg.start_soon(handler)

    try:
        anyio.run(main)
    finally:
        made.db.dispose()
    assert peak == reads.SHORT_READ_THREADS


def _transaction_starts(db: Database) -> set[object]:
    """When the transaction of each of two statements of one read session began
    (``now()``: a transaction's start, the same for all its statements)."""
    with db.read() as s:
        first = s.scalar(sa.select(sa.func.now()))
        threading.Event().wait(0.01)
        return {first, s.scalar(sa.select(sa.func.now()))}


@pytest.fixture
def pg_db() -> Iterator[Database]:
    from tests.support import postgres

    postgres.require()
    with postgres.fresh_database() as url:
        database = Database(url)
        try:
            yield database
        finally:
            database.dispose()


@pytest.mark.postgres
def test_on_postgresql_short_reads_run_their_statements_outside_a_transaction(
    pg_db: Database, tmp_path: Path
) -> None:
    # READ COMMITTED gives each statement its own snapshot anyway: without the transaction
    # a short read saves BEGIN and ROLLBACK, and reads what it read before.
    assert len(_transaction_starts(pg_db)) == 1  # a read session is one transaction
    with pg_db.statement_reads():
        assert len(_transaction_starts(pg_db)) == 2  # each statement on its own
    assert len(_transaction_starts(pg_db)) == 1  # only within the block
    with pg_db.statement_reads(), pg_db.write() as s:  # writes keep their transaction
        assert s.scalar(sa.select(sa.func.now())) == s.scalar(sa.select(sa.func.now()))

    # A marked handler on a worker thread runs in such a block (the app's database).
    made = make_context(Settings(data_dir=tmp_path / "data", storage="memory"))
    made.db.dispose()
    made.db = pg_db

    @reads.short_read
    def handler() -> int:
        return len(_transaction_starts(pg_db))

    async def main() -> int:
        reads.install(made)
        return await handler()

    assert anyio.run(main) == 2


def test_on_sqlite_short_reads_keep_their_snapshot(tmp_path: Path) -> None:
    # SQLite's BEGIN costs no round trip: the statements of a short read share one snapshot,
    # whatever commits between them.
    db = Database(sqlite_url(tmp_path / "x.sqlite3"))
    try:
        with db.write() as s:
            s.execute(sa.text("CREATE TABLE t (x INTEGER)"))
            s.execute(sa.text("INSERT INTO t VALUES (1)"))
        count = sa.text("SELECT count(*) FROM t")
        with db.statement_reads(), db.read() as s:
            assert s.scalar(count) == 1
            with db.write() as w:
                w.execute(sa.text("INSERT INTO t VALUES (2)"))
            assert s.scalar(count) == 1
        with db.read() as s:
            assert s.scalar(count) == 2
    finally:
        db.dispose()


def _pg_context(pg_db: Database, tmp_path: Path, storage: str = "local") -> Context:
    """A context of the PostgreSQL database ``pg_db``, its store's objects local files
    (``local``) or across a network (``memory`` stands for one)."""
    made = make_context(Settings(data_dir=tmp_path / "data", storage=storage))
    made.db.dispose()
    made.db = pg_db
    return made


@pytest.mark.postgres
def test_on_postgresql_short_reads_run_on_the_loop_without_blocking_it(
    pg_db: Database, tmp_path: Path
) -> None:
    # Local files and PostgreSQL: a marked handler runs on the event loop's thread, its
    # statements through the asyncio driver, each on its own (autocommit), and while one
    # waits for the server the loop runs the others: 4 reads of a 0.3 s statement take
    # about 0.3 s together, not 1.2 s, on one thread.
    made = _pg_context(pg_db, tmp_path)
    assert reads.on_loop(made)

    @reads.short_read
    def handler() -> tuple[int, int]:
        starts = _transaction_starts(pg_db)
        with pg_db.read() as s:
            s.execute(sa.text("SELECT pg_sleep(0.3)"))
        return threading.get_ident(), len(starts)

    async def main() -> tuple[list[tuple[int, int]], float]:
        reads.install(made)
        results: list[tuple[int, int]] = []

        async def one() -> None:
            results.append(await handler())

        try:
            await handler()  # connections opened
            started = anyio.current_time()
            async with anyio.create_task_group() as tg:
                for _ in range(4):
                    tg.start_soon(one)
            return results, anyio.current_time() - started
        finally:
            await reads.uninstall()

    loop_thread = threading.get_ident()
    results, took = anyio.run(main)
    assert results == [(loop_thread, 2)] * 4
    assert took < 0.9, took


@pytest.mark.postgres
def test_on_postgresql_a_dropped_connection_is_replaced_and_the_read_runs_again(
    pg_db: Database, tmp_path: Path
) -> None:
    # The loop reads ping no connection before using it. When the server has dropped one
    # (a restart, an idle timeout), its first statement fails; the read runs again on a
    # new connection, still on the loop, and the caller sees only the answer.
    made = _pg_context(pg_db, tmp_path)
    answered: list[int] = []

    @reads.short_read
    def handler() -> tuple[int, int]:
        with pg_db.read() as s:
            pid = int(s.scalar(sa.text("SELECT pg_backend_pid()")) or 0)
        answered.append(pid)
        return threading.get_ident(), pid

    async def main() -> tuple[tuple[int, int], tuple[int, int]]:
        reads.install(made)
        try:
            first = await handler()
            with pg_db.engine.connect() as c:  # the server ends that backend
                c.execute(sa.text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": first[1]})
            return first, await handler()
        finally:
            await reads.uninstall()

    first, second = anyio.run(main)
    assert first[0] == second[0] == threading.get_ident()
    assert second[1] != first[1]
    assert answered == [first[1], second[1]]  # the failed attempt answered nothing


@pytest.mark.postgres
def test_on_postgresql_reads_beyond_the_connections_wait_their_turn_in_order(
    pg_db: Database, tmp_path: Path
) -> None:
    # More reads than loop-read connections: no more run at once than there are
    # connections, and those that wait start in the order they arrived (a read must not be
    # overtaken again and again by newer ones).
    made = _pg_context(pg_db, tmp_path)
    turns = loop_reads.LOOP_READ_CONNECTIONS
    started: list[int] = []
    running = [0, 0]  # now, most at once

    @reads.short_read
    def handler(i: int) -> int:
        with pg_db.read() as s:
            s.connection()
            started.append(i)  # it has its connection
            running[0] += 1
            running[1] = max(running)
            s.execute(sa.text("SELECT pg_sleep(0.2)"))
            running[0] -= 1
        return i

    async def main() -> float:
        reads.install(made)
        try:
            async with anyio.create_task_group() as tg:  # the connections, opened
                for i in range(turns):
                    tg.start_soon(handler, i)
            started.clear()
            began = anyio.current_time()
            async with anyio.create_task_group() as tg:
                for i in range(turns + 4):
                    tg.start_soon(handler, i)
                    await anyio.sleep(0.005)  # arrivals in this order
            return anyio.current_time() - began
        finally:
            await reads.uninstall()

    took = anyio.run(main)
    assert sorted(started[:turns]) == list(range(turns))
    assert started[turns:] == list(range(turns, turns + 4))
    assert running[1] == turns
    assert took >= 0.4, took  # two turns of 0.2 s


def test_the_loop_reads_driver_is_asyncpg_unless_the_url_has_libpq_parameters() -> None:
    url = "postgresql+psycopg://u@db.example:5432/archive"
    assert loop_reads.driver_url(url).drivername == "postgresql+asyncpg"
    assert loop_reads.driver_url(url).database == "archive"
    with_params = loop_reads.driver_url(url + "?sslmode=require")
    assert with_params.drivername == "postgresql+psycopg"
    assert with_params.query == {"sslmode": "require"}


@pytest.mark.postgres
def test_on_postgresql_a_short_read_that_writes_runs_again_on_a_thread(
    pg_db: Database, tmp_path: Path
) -> None:
    made = _pg_context(pg_db, tmp_path)
    calls: list[int] = []

    @reads.short_read
    def handler() -> int:
        calls.append(threading.get_ident())
        with pg_db.write() as s:
            return int(s.scalar(sa.select(sa.literal(5))) or 0)

    async def main() -> int:
        reads.install(made)
        try:
            return await handler()
        finally:
            await reads.uninstall()

    assert anyio.run(main) == 5
    assert calls[0] == threading.get_ident()  # first on the loop, where the write refused
    assert calls[1:] and all(t != threading.get_ident() for t in calls[1:])


@pytest.mark.postgres
def test_on_postgresql_with_a_store_across_a_network_short_reads_use_threads(
    pg_db: Database, tmp_path: Path
) -> None:
    # A handler may read its store's objects: across a network that would block the loop.
    made = _pg_context(pg_db, tmp_path, storage="memory")
    assert not reads.on_loop(made)

    @reads.short_read
    def handler() -> int:
        return threading.get_ident()

    async def main() -> int:
        reads.install(made)
        try:
            return await handler()
        finally:
            await reads.uninstall()

    assert anyio.run(main) != threading.get_ident()


def test_turns_go_in_order_of_arrival_and_survive_cancelled_waiters() -> None:
    async def main() -> list[str]:
        turns = loop_reads.Turns(1)
        order: list[str] = []
        release = asyncio.Event()

        async def hold(name: str) -> None:
            async with turns:
                order.append(name)
                await release.wait()

        first = asyncio.create_task(hold("first"))
        await asyncio.sleep(0)
        waiters = {n: asyncio.create_task(hold(n)) for n in ("a", "b", "c")}
        await asyncio.sleep(0)
        waiters["b"].cancel()  # gives up while waiting: leaves the queue
        await asyncio.sleep(0)
        release.set()
        await asyncio.gather(first, waiters["a"], waiters["c"])
        # Handed its turn, then cancelled before it ran: the turn goes on to the next.
        await turns.__aenter__()
        handed, last = asyncio.create_task(hold("handed")), asyncio.create_task(hold("last"))
        await asyncio.sleep(0)
        await turns.__aexit__(None, None, None)  # hands the turn to "handed" ...
        handed.cancel()  # ... which is cancelled before it runs
        await asyncio.wait_for(last, 5)
        with pytest.raises(asyncio.CancelledError):
            await handed
        async with turns:  # and the turn is free again
            order.append("free")
        return order

    assert asyncio.run(main()) == ["first", "a", "c", "last", "free"]
