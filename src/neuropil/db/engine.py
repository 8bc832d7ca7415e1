"""Engine and session set-up for SQLite (the embedded default) and PostgreSQL.

SQLite runs in WAL mode with foreign keys on. Writers take the write lock up front
(``BEGIN IMMEDIATE``) so two writers never deadlock on a lock upgrade; readers never block.

Reads that must not wait (:meth:`Database.without_waiting`: the server's hot reads, run on
its event loop) get SQLite connections of their own, and raise :class:`WouldWait` instead
of waiting for one, for a lock or for a write.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from neuropil.db import loop_reads
from neuropil.db.loop_reads import LoopReads

_WRITE = "neuropil_write"

#: What reads of rows run on: a session, or a connection (:meth:`Database.rows`). The
#: statements of such reads are Core statements (columns, not entities), which both run.
Reader = Session | sa.Connection


def connection_of(reader: Reader) -> sa.Connection:
    """The connection of ``reader`` (a session's, begun if it was not yet)."""
    return reader if isinstance(reader, sa.Connection) else reader.connection()


def normalize_url(url: str) -> str:
    """Accept plain ``postgresql://`` URLs and use the psycopg 3 driver for them."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


#: How long a read that must not wait (:meth:`Database.without_waiting`) lets SQLite retry
#: a locked database (ms). In WAL mode a reader meets a lock only in rare moments (a crashed
#: connection's recovery, the last connection's clean-up), but then it would wait.
NO_WAIT_BUSY_MS = 20
#: SQLite connections kept for reads that must not wait; one more is never waited for.
NO_WAIT_CONNECTIONS = 4


class WouldWait(Exception):
    """A read that must not wait (:meth:`Database.without_waiting`) would have to: for a
    connection, for a lock, or because it writes. Run it again where waiting is fine."""


_NO_WAIT: ContextVar[Database | None] = ContextVar("neuropil_no_wait", default=None)
_STATEMENT_READS: ContextVar[Database | None] = ContextVar("neuropil_statement_reads", default=None)


def _is_busy(exc: sa.exc.OperationalError) -> bool:
    code = getattr(exc.orig, "sqlite_errorcode", None)  # extended codes: the low byte
    return isinstance(code, int) and (code & 0xFF) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


@contextmanager
def _waits_refused(no_wait: bool) -> Iterator[None]:
    """For a read that must not wait: no free connection and a locked database raise
    :class:`WouldWait` (the errors themselves otherwise)."""
    try:
        yield
    except sa.exc.TimeoutError as exc:
        if not no_wait:
            raise
        raise WouldWait("No connection is free.") from exc
    except sa.exc.OperationalError as exc:
        if not (no_wait and _is_busy(exc)):
            raise
        raise WouldWait("The database is locked.") from exc


def _configure_sqlite(engine: Engine, *, busy_ms: int = 30000) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (below)
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        write = conn.get_execution_options().get(_WRITE, False)
        # Straight to the driver: through ``exec_driver_sql`` this one statement cost as
        # much CPU as a read's query (events, execution context, result set-up).
        driver = conn.connection.driver_connection
        assert driver is not None
        driver.execute("BEGIN IMMEDIATE" if write else "BEGIN")


class Database:
    """One engine plus read and write session factories."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = normalize_url(url)
        self._echo = echo
        kwargs: dict[str, Any] = {"echo": echo}
        if self.url.startswith("sqlite"):
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
            kwargs["pool_size"] = 16
            kwargs["max_overflow"] = 16
        else:
            kwargs["pool_size"] = 10
            kwargs["max_overflow"] = 20
            kwargs["pool_pre_ping"] = True
        self.engine = sa.create_engine(self.url, **kwargs)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        if self.is_sqlite:
            _configure_sqlite(self.engine)
        self._write = sessionmaker(
            self.engine.execution_options(**{_WRITE: True}), expire_on_commit=False
        )
        # PostgreSQL's READ COMMITTED (its default, and ours) gives each statement a
        # snapshot of its own, in a transaction or not: short reads skip the transaction
        # and its two round trips, BEGIN and ROLLBACK (:meth:`statement_reads`).
        self._statement_engine: Engine | None = None
        if not self.is_sqlite:
            self._statement_engine = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        self._no_wait_engine: Engine | None = None
        if self.is_sqlite:
            # Connections of their own: a read that must not wait never waits for the pool
            # above (``pool_timeout=0``: none free is an error at once), and SQLite's busy
            # handler gives up after NO_WAIT_BUSY_MS.
            self._no_wait_engine = sa.create_engine(
                self.url,
                echo=echo,
                connect_args={"check_same_thread": False, "timeout": NO_WAIT_BUSY_MS / 1000},
                pool_size=NO_WAIT_CONNECTIONS,
                max_overflow=0,
                pool_timeout=0,
            )
            _configure_sqlite(self._no_wait_engine, busy_ms=NO_WAIT_BUSY_MS)

    @property
    def reads_without_waiting(self) -> bool:
        """Whether :meth:`without_waiting` applies: SQLite answers in this process; a
        PostgreSQL read waits for the server whatever we do."""
        return self._no_wait_engine is not None

    @contextmanager
    def without_waiting(self) -> Iterator[None]:
        """Within it, in this context (thread or task), :meth:`read` never waits: it uses
        connections of its own, and raises :class:`WouldWait` where it would wait (no free
        connection, a locked database); :meth:`write` raises it at once. For SQLite only
        (:attr:`reads_without_waiting`)."""
        if not self.reads_without_waiting:
            raise WouldWait("Reads of a database server always wait for it.")
        token = _NO_WAIT.set(self)
        try:
            yield
        finally:
            _NO_WAIT.reset(token)

    def loop_reads(self) -> LoopReads | None:
        """Reads for the running event loop through PostgreSQL's asyncio driver
        (:mod:`neuropil.db.loop_reads`), or ``None``: SQLite (whose reads on the loop are
        :meth:`without_waiting`), or no greenlet package. A new one each call: its
        connections belong to the loop that opens them."""
        if self.is_sqlite or not loop_reads.available():
            return None
        return LoopReads(self.url, owner=self, echo=self._echo)

    @contextmanager
    def statement_reads(self) -> Iterator[None]:
        """Within it, in this context, :meth:`read` sessions of a PostgreSQL database run
        each statement on its own, outside a transaction (autocommit). Under READ COMMITTED
        that reads exactly what a read transaction reads: every statement sees the data
        committed when it starts. For the hot reads (a few statements each), which it
        saves two of their five round trips. Not for reads that set something for their
        transaction (``set_config(..., true)``, as a search does) or lock rows. On SQLite
        it changes nothing (its ``BEGIN`` costs no round trip, and gives the snapshot the
        hot reads' statements share)."""
        token = _STATEMENT_READS.set(self)
        try:
            yield
        finally:
            _STATEMENT_READS.reset(token)

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reads. Closing it ends the transaction without expiring the
        objects read, so they stay usable (detached) afterwards."""
        engine, no_wait = self._read_engine()
        with _waits_refused(no_wait):
            session = Session(engine, expire_on_commit=False)
            try:
                yield session
            finally:
                session.close()

    @contextmanager
    def rows(self, *, transaction: bool = False) -> Iterator[sa.Connection]:
        """:meth:`read` without the session: a connection, for reads of rows (Core
        statements) alone. The same connections as :meth:`read` in each case (without
        waiting, on the event loop, outside transactions), in a transaction that ends
        when it closes. The hot reads take this: an ORM session's set-up and clean-up
        around a read cost more CPU than one of its statements (``docs/design/
        performance.md``, eighth round).

        ``transaction``: in a transaction on PostgreSQL too, for a read whose statements
        share settings made for their transaction (``set_config(..., true)``: a search);
        outside one, each statement would be a transaction of its own."""
        engine, no_wait = self._read_engine()
        with _waits_refused(no_wait), engine.connect() as conn:
            if transaction and not self.is_sqlite:
                # For this checkout only: the pool restores the engine's level.
                conn.execution_options(isolation_level="READ COMMITTED")
            conn.begin()  # rolled back as the connection closes: a read writes nothing
            yield conn

    def _read_engine(self) -> tuple[Engine, bool]:
        """The engine of a read in this context, and whether it must not wait: the
        connections of reads without waiting (SQLite), of the event loop's reads
        (PostgreSQL), or outside transactions (PostgreSQL, ``statement_reads``); else
        the engine's own."""
        if _NO_WAIT.get() is self and self._no_wait_engine is not None:
            return self._no_wait_engine, True
        on_loop = loop_reads.current(self)
        if on_loop is not None:
            return on_loop.engine.sync_engine, False
        if _STATEMENT_READS.get() is self and self._statement_engine is not None:
            return self._statement_engine, False
        return self.engine, False

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session whose work commits as one transaction, or not at all."""
        if _NO_WAIT.get() is self:
            raise WouldWait("A write may wait for the write lock.")
        if loop_reads.current(self) is not None:
            raise WouldWait("A write on the event loop would block it.")
        with self._write() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()
        if self._no_wait_engine is not None:
            self._no_wait_engine.dispose()
