"""Statistics and visibility upkeep of the tables the search reads.

The search statements are written so that the planner has one good plan (docs/design/search.md,
"Plans"), but two things still depend on the state of the tables after large ingests:

- **statistics**: row estimates decide join methods (a hash over 10,000 rows or a few index
  lookups). A bulk load, or an archive that grew from empty, can leave them absent or stale;
- **PostgreSQL's visibility map**: index-only scans of ``(word, dandiset_id)`` and
  ``(facet, value, dandiset_id)`` skip the table only for pages VACUUM has marked all-visible;
  after a bulk load none are, and the same search costs twice as much until a VACUUM.

Autovacuum does this on PostgreSQL when it is on, within the thresholds migration 0009 sets on
the search tables; SQLite has nothing of the kind. :func:`refresh_statistics` applies the same
rules itself: it reads the change counters, and ANALYZEs (and on PostgreSQL VACUUMs) only the
tables that passed them, so it is cheap to call periodically (the background duties do, once a
minute) and right after a bulk load. One process at a time does it (an advisory lock on
PostgreSQL, the write lock on SQLite).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from neuropil.db.engine import Database

log = logging.getLogger(__name__)

#: The tables the search reads and keeps (migrations 0004 and 0009), and the archive tables its
#: statements join. Only the search tables are vacuumed here; the others are analyzed.
SEARCH_TABLES = (
    "search_words",
    "search_facets",
    "search_dandiset_facets",
    "search_facet_sets",
    "search_facet_set_values",
)
POSTGRES_TABLES = ("search_dandisets",)
JOINED_TABLES = ("dandisets", "dandiset_owners", "versions")
#: Re-analyze a table when this share of its rows changed since the last ANALYZE (plus
#: ``MIN_CHANGES``), as autovacuum's ``autovacuum_analyze_scale_factor`` would.
ANALYZE_FRACTION = 0.05
#: Vacuum a search table when this share of its rows was inserted or died since the last one.
VACUUM_FRACTION = 0.02
MIN_CHANGES = 50
#: SQLite keeps no change counters: re-analyze when the row count is this many times the one
#: the last ANALYZE saw (either way), or when a table of this many rows has no statistics.
SQLITE_GROWTH = 2.0
SQLITE_MIN_ROWS = 1000
#: Rows ANALYZE samples per index on SQLite: approximate statistics in milliseconds.
SQLITE_ANALYSIS_LIMIT = 1000
#: Any fixed number; ``pg_try_advisory_lock`` keys are shared by the whole database.
LOCK_KEY = 0x6E70_7374_6174  # "npstat"


@dataclass(frozen=True)
class TableStats:
    """What the database knows of one table's statistics (for reports and decisions)."""

    table: str
    rows: int
    #: Rows changed since the last ANALYZE (PostgreSQL), or ``None`` (SQLite keeps no count).
    changed_since_analyze: int | None
    #: Row count the statistics were computed with (SQLite), or ``None``.
    analyzed_rows: int | None
    last_analyze: str | None = None
    last_vacuum: str | None = None
    #: Share of the table's pages marked all-visible (PostgreSQL): index-only scans skip them.
    all_visible: float | None = None


def refresh_statistics(db: Database, *, force: bool = False) -> list[str]:
    """ANALYZE (and on PostgreSQL VACUUM) the tables whose statistics lag their changes;
    with ``force``, all of them. Returns the statements run (empty when nothing was due,
    or another process holds the work)."""
    if db.is_sqlite:
        return _sqlite_refresh(db, force)
    return _postgres_refresh(db, force)


def table_stats(db: Database) -> list[TableStats]:
    """The statistics state of the tables the search reads."""
    if db.is_sqlite:
        return _sqlite_stats(db)
    return _postgres_stats(db)


# -- PostgreSQL -------------------------------------------------------------------------------
# From pg_class, not only the activity counters: those start at zero in a database copied
# from a template or after a crash, while the statistics (pg_statistic, ``reltuples``, -1
# until the first ANALYZE or VACUUM) and the visibility map (``relallvisible``) are the
# table's own.
_PG_STATS = sa.text(
    """SELECT c.relname, greatest(c.reltuples, 0)::bigint, c.reltuples < 0, c.relpages,
        c.relallvisible, coalesce(s.n_mod_since_analyze, 0), coalesce(s.n_ins_since_vacuum, 0),
        coalesce(s.n_dead_tup, 0), greatest(s.last_analyze, s.last_autoanalyze),
        greatest(s.last_vacuum, s.last_autovacuum)
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
    WHERE n.nspname = current_schema() AND c.relkind = 'r' AND c.relname = ANY(:tables)
    ORDER BY c.relname"""
)
#: Vacuum a search table whose visibility map covers less than this share of its pages
#: (tables of up to ``SMALL_PAGES`` pages are read whole anyway).
MIN_ALL_VISIBLE = 0.5
SMALL_PAGES = 8


def _postgres_tables() -> list[str]:
    return [*SEARCH_TABLES, *POSTGRES_TABLES, *JOINED_TABLES]


def _postgres_stats(db: Database) -> list[TableStats]:
    with db.engine.connect() as conn:
        rows = conn.execute(_PG_STATS, {"tables": _postgres_tables()}).all()
    return [
        TableStats(
            table=r[0],
            rows=int(r[1]),
            changed_since_analyze=int(r[5]),
            analyzed_rows=None if r[2] else int(r[1]),
            last_analyze=_iso(r[8]),
            last_vacuum=_iso(r[9]),
            # A table of a few pages is read whole anyway: its map does not matter.
            all_visible=round(r[4] / r[3], 3) if r[3] > SMALL_PAGES else None,
        )
        for r in rows
    ]


def _postgres_due(rows: Sequence[Sequence[Any]], force: bool) -> list[str]:
    statements = []
    for name, tuples, never, pages, visible, modified, inserted, dead, _a, _v in rows:
        vacuum = name in SEARCH_TABLES or name in POSTGRES_TABLES
        limit = MIN_CHANGES + VACUUM_FRACTION * tuples
        unmapped = pages > SMALL_PAGES and visible < MIN_ALL_VISIBLE * pages
        if vacuum and (force or inserted > limit or dead > limit or unmapped):
            # VACUUM (ANALYZE) when both are due: one pass.
            statements.append(f"VACUUM (ANALYZE) {name}")
        elif force or never or modified > MIN_CHANGES + ANALYZE_FRACTION * tuples:
            statements.append(f"ANALYZE {name}")
    return statements


def _postgres_refresh(db: Database, force: bool) -> list[str]:
    # VACUUM cannot run in a transaction: an autocommit connection of its own.
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if not conn.execute(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": LOCK_KEY}).scalar():
            return []
        try:
            rows = conn.execute(_PG_STATS, {"tables": _postgres_tables()}).all()
            statements = _postgres_due(rows, force)
            for statement in statements:
                conn.exec_driver_sql(statement)
        finally:
            conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK_KEY})
    if statements:
        log.info("search statistics: %s", "; ".join(statements))
    return statements


# -- SQLite -----------------------------------------------------------------------------------
def _sqlite_tables() -> list[str]:
    return [*SEARCH_TABLES, *JOINED_TABLES]


def _sqlite_counts(conn: sa.Connection) -> dict[str, tuple[int, int | None]]:
    """``table -> (rows now, rows at the last ANALYZE or None)``."""
    analyzed: dict[str, int] = {}
    has_stats = conn.exec_driver_sql(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_stat1'"
    ).first()
    if has_stats:
        for table, stat in conn.exec_driver_sql("SELECT tbl, stat FROM sqlite_stat1"):
            if stat:
                analyzed[table] = max(analyzed.get(table, 0), int(str(stat).split()[0]))
    out = {}
    for table in _sqlite_tables():
        rows = int(conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar() or 0)
        out[table] = (rows, analyzed.get(table))
    return out


def _sqlite_due(counts: dict[str, tuple[int, int | None]], force: bool) -> list[str]:
    due = []
    for table, (rows, analyzed) in counts.items():
        if force:
            due.append(table)
        elif analyzed is None:
            if rows >= SQLITE_MIN_ROWS:
                due.append(table)
        elif max(rows, 1) > SQLITE_GROWTH * max(analyzed, 1) or SQLITE_GROWTH * max(rows, 1) < max(
            analyzed, 1
        ):
            due.append(table)
    return [f"ANALYZE {table}" for table in due]


def _sqlite_refresh(db: Database, force: bool) -> list[str]:
    with db.engine.connect() as conn:
        statements = _sqlite_due(_sqlite_counts(conn), force)
    if statements:
        # A write transaction from the start (``BEGIN IMMEDIATE``): a read transaction that
        # turns into a write fails at once when another connection wrote in between.
        with db.write() as s:
            conn = s.connection()
            conn.exec_driver_sql(f"PRAGMA analysis_limit = {SQLITE_ANALYSIS_LIMIT}")
            for statement in statements:
                conn.exec_driver_sql(statement)
        log.info("search statistics: %s", "; ".join(statements))
    return statements


def _sqlite_stats(db: Database) -> list[TableStats]:
    with db.engine.connect() as conn:
        counts = _sqlite_counts(conn)
    return [
        TableStats(table, rows, None, analyzed)
        for table, (rows, analyzed) in sorted(counts.items())
    ]


def _iso(value: object) -> str | None:
    return None if value is None else str(value)
