"""Every job engine, on a real database: the built-in queue on SQLite and on PostgreSQL,
procrastinate on PostgreSQL (a fresh database per test session, emptied between tests)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from neuropil.db.engine import Database, sqlite_url
from neuropil.db.migrate import upgrade
from neuropil.jobs.protocol import JobQueue
from neuropil.jobs.queue import TableQueue
from tests.support import postgres

#: (engine, database) pairs every protocol test runs on.
ENGINES = ["inprocess-sqlite", "inprocess-postgres", "procrastinate-postgres"]
#: Short leases, so that a dead worker's job is retried within seconds.
LEASE = timedelta(seconds=3)


@dataclass
class Engine:
    """A queue on a migrated database, and that database."""

    name: str
    queue: JobQueue
    db: Database


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """One fresh PostgreSQL database, migrated, for the job tests of this session."""
    postgres.require()
    with postgres.fresh_database() as url:
        db = Database(url)
        upgrade(db)
        db.dispose()
        yield url


def make_queue(engine: str, db: Database) -> JobQueue:
    low = frozenset({"slow"})
    if engine.startswith("procrastinate"):
        from neuropil.jobs.procrastinate_queue import ProcrastinateQueue

        return ProcrastinateQueue(db, low_priority=low, lease=LEASE)
    return TableQueue(db, low_priority=low, lease=LEASE)


def _empty(db: Database) -> None:
    with db.write() as s:
        s.execute(sa.text("DELETE FROM jobs"))
        if s.scalar(sa.text("SELECT to_regclass('procrastinate_jobs')")) is not None:
            s.execute(sa.text("TRUNCATE procrastinate_jobs, procrastinate_workers CASCADE"))


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    name = str(request.param)
    if name.endswith("sqlite"):
        db = Database(sqlite_url(tmp_path / "jobs.sqlite"))
        upgrade(db)
    else:
        db = Database(request.getfixturevalue("pg_url"))
    queue = make_queue(name, db)
    queue.prepare()
    if not db.is_sqlite:
        _empty(db)
    try:
        yield Engine(name, queue, db)
    finally:
        db.dispose()
