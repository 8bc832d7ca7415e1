"""What makes one search benchmark run differ from the next, measured and printed.

- :func:`archive_state`: the statistics and visibility state of the tables the search reads
  (``neuropil.services.search.maintenance.table_stats``): whether and when ANALYZE/VACUUM ran,
  the share of all-visible pages (PostgreSQL's index-only scans), and what the archive's own
  upkeep did just before the measurement;
- :func:`plan_hashes`: the plan of every statement a query issues, reduced to its shape (node
  types, tables, indexes, join kinds; no costs or row counts) and hashed: a plan change
  between runs, or during one, shows as a different hash;
- :class:`CpuProbe`: CPU seconds of the server process and of the PostgreSQL backends serving
  it, so that a row reads as "p95 under this load" and "this much work per request" — the
  latter barely moves with the load of the machine;
- :class:`BufferProbe`: PostgreSQL's buffer hits and reads on the search tables (a run
  that reads blocks from outside shared buffers started cold).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from benchmarks.common import log

TICK = os.sysconf("SC_CLK_TCK")


@contextmanager
def context(data_dir: Path, url: str | None) -> Iterator[Any]:
    """The services' context on a benchmark archive (migrated, as ``serve`` would)."""
    from neuropil.config import Settings
    from neuropil.db.migrate import upgrade
    from neuropil.services.context import make_context

    ctx = make_context(Settings(data_dir=data_dir, database_url=url, storage="local"))
    try:
        upgrade(ctx.db)
        yield ctx
    finally:
        ctx.db.dispose()


# -- statistics state -------------------------------------------------------------------------
def archive_state(ctx: Any) -> dict[str, Any]:
    """Run the archive's statistics upkeep (as its background duty would), then report the
    state of every table the search reads."""
    from dataclasses import asdict

    from neuropil.services.search import maintenance

    upkeep = maintenance.refresh_statistics(ctx.db)
    tables = [asdict(t) for t in maintenance.table_stats(ctx.db)]
    return {"upkeep_before_measuring": upkeep, "tables": tables}


def state_line(state: dict[str, Any], generated: dict[str, Any]) -> str:
    """One line: statistics after load, upkeep now, visibility, stale tables."""
    after_load = generated.get("statistics_after_load")
    if after_load is None:
        load = "statistics after load: not recorded (archive from an older generator)"
    else:
        load = (
            f"statistics after load at {after_load['at']} "
            f"({len(after_load['statements'])} statements, {after_load['seconds']} s)"
        )
    tables = state["tables"]
    from neuropil.services.search.maintenance import SQLITE_MIN_ROWS

    # Tables too small to need statistics (the upkeep leaves them alone) are not missing any.
    missing = [
        t["table"] for t in tables if t["analyzed_rows"] is None and t["rows"] >= SQLITE_MIN_ROWS
    ]
    visible = {
        t["table"]: t["all_visible"]
        for t in tables
        if t["table"].startswith("search_") and t.get("all_visible") is not None
    }
    parts = [load, f"upkeep before measuring: {len(state['upkeep_before_measuring'])} statements"]
    if visible:
        least = min(visible, key=lambda name: visible[name])
        parts.append(f"all-visible pages of the search tables: min {visible[least]:.0%} ({least})")
    parts.append("no statistics: " + (", ".join(missing) if missing else "none"))
    return "; ".join(parts)


# -- plans ------------------------------------------------------------------------------------
_PG_KEYS = ("Node Type", "Relation Name", "Index Name", "Join Type", "Strategy", "CTE Name")


def _pg_shape(node: dict[str, Any]) -> list[Any]:
    own = [node.get(k) for k in _PG_KEYS if k in node]
    return [own, [_pg_shape(child) for child in node.get("Plans", [])]]


def _explain(ctx: Any, statements: list[tuple[str, Any]]) -> list[Any]:
    """The plan shape of each SELECT, explained in a transaction prepared like the search's."""
    from neuropil.services.search import engine_for

    shapes: list[Any] = []
    with ctx.db.engine.connect() as conn:
        raw = conn.connection.driver_connection
        if ctx.db.is_sqlite:
            for sql, params in statements:
                rows = raw.execute("EXPLAIN QUERY PLAN " + sql, params).fetchall()
                # Drop the ids SQLite numbers subqueries with ("LIST SUBQUERY 13").
                shapes.append([" ".join(w for w in r[3].split() if not w.isdigit()) for r in rows])
            return shapes
        with ctx.db.read() as s:
            engine_for(ctx.db).prepare(s)
            cursor = s.connection().connection.driver_connection.cursor()
            for sql, params in statements:
                cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
                shapes.append(_pg_shape(cursor.fetchone()[0][0]["Plan"]))
    return shapes


def _captured(ctx: Any, call: Any) -> list[tuple[str, Any]]:
    from sqlalchemy import event

    statements: list[tuple[str, Any]] = []

    def capture(_c: Any, _cur: Any, sql: str, params: Any, _ctx: Any, _many: bool) -> None:
        if sql.lstrip().upper().startswith(("SELECT", "WITH")) and "set_config(" not in sql:
            statements.append((sql, params))

    event.listen(ctx.db.engine, "before_cursor_execute", capture)
    try:
        call()
    finally:
        event.remove(ctx.db.engine, "before_cursor_execute", capture)
    return statements


def plan_hashes(ctx: Any, searches: list[tuple[str, str]], dandi: int) -> dict[str, Any]:
    """``row -> {"hash": 8 hex digits, "plans": shapes}`` for the API and listing rows."""
    from neuropil.services import search as search_service
    from neuropil.services.dandisets import list_dandisets

    out: dict[str, Any] = {}
    for i, (name, q) in enumerate(searches):
        calls: dict[str, Any] = {
            f"api/search: {name}": lambda q=q: search_service.search(ctx, user=None, query=q)
        }
        if i < dandi:
            calls[f"api/dandisets?search: {name}"] = lambda q=q: list_dandisets(
                ctx, user=None, search=q
            )
        for row, call in calls.items():
            try:
                shapes = _explain(ctx, _captured(ctx, call))
            except Exception as exc:  # a diagnostic must not stop the benchmark
                log(f"plan of {row!r} not captured: {exc!r}")
                continue
            digest = hashlib.sha1(json.dumps(shapes).encode()).hexdigest()[:8]
            out[row] = {"hash": digest, "plans": shapes}
    return out


# -- CPU and buffers ---------------------------------------------------------------------------
def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:  # gone (a pooled connection closed), or not on Linux
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


class CpuProbe:
    """CPU seconds used by the server process and the PostgreSQL backends of its database
    (only when PostgreSQL runs on this machine: ``/proc`` of its backends is readable)."""

    def __init__(self, server_pid: int, url: str | None) -> None:
        self.server_pid = server_pid
        self.url = url
        self.conn: Any = None
        if url:
            import psycopg

            self.conn = psycopg.connect(url, autocommit=True)
            self.own = self.conn.info.backend_pid

    def backends(self) -> list[int]:
        if self.conn is None:
            return []
        rows = self.conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> %s",
            (self.own,),
        ).fetchall()
        return [r[0] for r in rows if Path(f"/proc/{r[0]}/stat").exists()]

    def read(self) -> tuple[float, float]:
        """``(server seconds, database seconds)`` so far."""
        db = sum(_cpu_seconds(pid) for pid in self.backends())
        return _cpu_seconds(self.server_pid), db

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()


class BufferProbe:
    """Shared-buffer hits and reads of the search tables and their indexes (PostgreSQL)."""

    SQL = """SELECT coalesce(sum(heap_blks_hit + coalesce(idx_blks_hit, 0)), 0),
        coalesce(sum(heap_blks_read + coalesce(idx_blks_read, 0)), 0)
        FROM pg_statio_user_tables WHERE relname LIKE 'search%' OR relname IN
        ('dandisets', 'dandiset_owners', 'versions', 'assets', 'asset_blobs')"""

    def __init__(self, url: str | None) -> None:
        self.url = url

    def read(self) -> tuple[int, int] | None:
        if not self.url:
            return None
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            hit, read = conn.execute(self.SQL).fetchone() or (0, 0)
        return int(hit), int(read)
