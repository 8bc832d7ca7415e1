"""The database layer on a real SQLite file: migrations, WAL, transactions, concurrent writers."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa

from neuropil.db.engine import (
    NO_WAIT_CONNECTIONS,
    Database,
    Reader,
    WouldWait,
    normalize_url,
    sqlite_url,
)
from neuropil.db.migrate import current, upgrade
from neuropil.db.models import Base, Job, schema_filter, tables_on


def _head() -> str | None:
    from alembic.script import ScriptDirectory

    from neuropil.db.migrate import alembic_config

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def job_count(db: Database) -> int:
    with db.read() as s:
        return s.scalar(sa.select(sa.func.count(Job.id))) or 0


def test_migrations_on_an_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "fresh.sqlite"
    database = Database(sqlite_url(path))
    try:
        assert current(database) is None
        upgrade(database)
        assert current(database) == _head()
        tables = set(sa.inspect(database.engine).get_table_names())
        assert tables_on("sqlite") <= tables  # search_assets/_dandisets: PostgreSQL only
        upgrade(database)  # again: nothing to do
        assert current(database) == _head()
    finally:
        database.dispose()
    assert path.is_file()


def test_wal_mode_and_pragmas(db: Database) -> None:
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
    # WAL is a property of the file: a new engine finds it so.
    with sa.create_engine(db.url).connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_write_commits(db: Database) -> None:
    with db.write() as s:
        s.add(Job(kind="k", payload={"n": 1}))
    assert job_count(db) == 1


def test_write_rolls_back_on_exception(db: Database) -> None:
    class Oops(Exception):
        pass

    with pytest.raises(Oops), db.write() as s:
        s.add(Job(kind="k", payload={}))
        s.flush()  # the row is in the transaction...
        assert s.scalar(sa.select(sa.func.count(Job.id))) == 1
        raise Oops
    assert job_count(db) == 0  # ...and gone with it
    with db.write() as s:  # the write lock was released
        s.add(Job(kind="k", payload={}))
    assert job_count(db) == 1


#: The two ways to read: a session, or a connection (the hot reads' ``Database.rows``).
READERS = pytest.mark.parametrize("reader", ["read", "rows"])


def _reading(db: Database, reader: str) -> contextlib.AbstractContextManager[Reader]:
    opened: contextlib.AbstractContextManager[Reader] = getattr(db, reader)()
    return opened


@READERS
def test_readers_do_not_wait_for_a_writer(db: Database, reader: str) -> None:
    with _writer_holding_the_lock(db) as writer:
        with _reading(db, reader) as s:  # sees the last committed state...
            assert s.scalars(sa.select(Job.kind)).all() == ["before"]
        # ...while the writer still holds its transaction: the read did not wait for it (a
        # read that waited would have blocked until the writer gave up, then seen "during").
        assert writer.is_alive()
    assert job_count(db) == 2


@contextlib.contextmanager
def _writer_holding_the_lock(db: Database) -> Iterator[threading.Thread]:
    """Commit a job "before", then hold a write transaction that added "during" (not
    committed) for the duration of the block; it commits when the block ends."""
    with db.write() as s:
        s.add(Job(kind="before", payload={}))
    writing, release = threading.Event(), threading.Event()

    def writer() -> None:
        with db.write() as s:
            s.add(Job(kind="during", payload={}))
            s.flush()
            writing.set()
            release.wait(60)

    t = threading.Thread(target=writer)
    t.start()
    try:
        assert writing.wait(10)
        yield t
    finally:
        release.set()
        t.join(10)


def test_concurrent_writers_do_not_deadlock_or_lose_updates(db: Database) -> None:
    # Read-modify-write from many threads: with a deferred BEGIN two readers would both try
    # to upgrade to the write lock and SQLite would fail one at once ("database is locked").
    with db.write() as s:
        counter = Job(kind="counter", payload={})
        s.add(counter)
    threads, rounds = 6, 15

    def bump(_: int) -> None:
        for _ in range(rounds):
            with db.write() as s:
                job = s.get(Job, counter.id)
                assert job is not None
                value = job.attempts
                time.sleep(0.0005)  # widen the window between the read and the write
                job.attempts = value + 1

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(bump, range(threads)))
    with db.read() as s:
        assert s.get(Job, counter.id).attempts == threads * rounds  # type: ignore[union-attr]


@READERS
def test_reads_without_waiting_read_on_connections_of_their_own(db: Database, reader: str) -> None:
    # A writer holds the lock: no matter.
    with _writer_holding_the_lock(db), db.without_waiting(), _reading(db, reader) as s:
        assert s.scalars(sa.select(Job.kind)).all() == ["before"]
    with db.without_waiting(), _reading(db, reader) as s:
        assert sorted(s.scalars(sa.select(Job.kind))) == ["before", "during"]


@READERS
def test_reads_without_waiting_refuse_to_wait(db: Database, reader: str) -> None:
    with db.without_waiting():
        with pytest.raises(WouldWait), db.write():
            pass  # a write may wait for the write lock: refused before it begins
        # Every connection of their own taken (nested reads): one more is not waited for.
        with contextlib.ExitStack() as reads:
            for _ in range(NO_WAIT_CONNECTIONS):
                reads.enter_context(_reading(db, reader)).execute(sa.select(1))
            with pytest.raises(WouldWait), _reading(db, reader) as s:
                s.execute(sa.select(1))
    with db.write() as s:  # outside, writes are as before
        s.add(Job(kind="after", payload={}))
    assert job_count(db) == 1


@READERS
def test_reads_without_waiting_give_up_on_a_locked_database(db: Database, reader: str) -> None:
    # In WAL mode a reader meets a lock only in rare moments (recovery, the last connection's
    # clean-up); a connection holding the file in exclusive mode stands for them here.
    locker = sqlite3.connect(db.url.removeprefix("sqlite:///"), isolation_level=None)
    try:
        locker.execute("PRAGMA locking_mode=EXCLUSIVE")
        locker.execute("BEGIN EXCLUSIVE")
        started = time.monotonic()
        with pytest.raises(WouldWait), db.without_waiting(), _reading(db, reader) as s:
            s.execute(sa.select(Job.id)).all()
        assert time.monotonic() - started < 5  # not the 30 s of the other reads
    finally:
        locker.close()
    with db.without_waiting(), _reading(db, reader) as s:  # the lock gone, they read again
        assert s.execute(sa.select(Job.id)).all() == []


@pytest.mark.parametrize(
    ("url", "normalized"),
    [
        ("postgres://u:p@h/db", "postgresql+psycopg://u:p@h/db"),
        ("postgresql://u:p@h/db", "postgresql+psycopg://u:p@h/db"),
        ("postgresql+psycopg://h/db", "postgresql+psycopg://h/db"),
        ("sqlite:///x.db", "sqlite:///x.db"),
    ],
)
def test_normalize_url(url: str, normalized: str) -> None:
    assert normalize_url(url) == normalized


def _schema_diff(database: Database) -> list[object]:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with database.engine.connect() as conn:
        # The filter leaves out the other backend's tables and SQLite's FTS5 virtual tables,
        # which SQLAlchemy cannot describe (see neuropil.db.models.schema_filter).
        opts = {"include_object": schema_filter(conn.dialect.name)}
        return list(compare_metadata(MigrationContext.configure(conn, opts=opts), Base.metadata))


def test_migrations_match_the_models(db: Database) -> None:
    """A model change without its migration would only show on someone else's database."""
    assert _schema_diff(db) == []


@pytest.mark.postgres
def test_migrations_match_the_models_on_postgres() -> None:
    from tests.support import postgres

    postgres.require()
    with postgres.fresh_database() as url:
        database = Database(url)
        try:
            upgrade(database)
            assert current(database) is not None
            assert _schema_diff(database) == []
        finally:
            database.dispose()


def test_rows_read_one_snapshot_and_write_nothing(db: Database) -> None:
    """The statements of one ``rows`` read see the same committed state, whatever commits
    meanwhile; what the read itself would change is rolled back as it closes."""
    with db.write() as s:
        s.add(Job(kind="before", payload={}))
    with db.rows() as conn:
        assert conn.scalars(sa.select(Job.kind)).all() == ["before"]
        with db.write() as s:  # another connection commits between the two statements
            s.add(Job(kind="meanwhile", payload={}))
        assert conn.scalars(sa.select(Job.kind)).all() == ["before"]
    with db.rows() as conn:
        conn.execute(sa.update(Job).values(kind="changed"))
        assert set(conn.scalars(sa.select(Job.kind))) == {"changed"}
    assert sorted(_kinds(db)) == ["before", "meanwhile"]


def _kinds(db: Database) -> list[str]:
    with db.read() as s:
        return list(s.scalars(sa.select(Job.kind)))
