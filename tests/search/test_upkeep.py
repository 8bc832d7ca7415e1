"""Facet combinations (migration 0009) and the statistics upkeep of the search tables.

Facet counts come from ``search_dandiset_facets`` (one combination of values per dandiset):
after every kind of write, each dandiset's combination must hold exactly its reported values
in ``search_facets``, and the counts must be those of the dandisets.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from neuropil.db.engine import Database, sqlite_url
from neuropil.services.search import maintenance
from neuropil.services.search.engine import FACETS
from neuropil.services.search.service import engine_for
from tests.api.helpers import assets_url, create_dandiset, random_bytes, upload_asset
from tests.conftest import Archive
from tests.search.helpers import ECEPHYS, MOUSE, RAT, asset_md, find, word


@pytest.fixture
def db(archive: Archive) -> Iterator[Database]:
    url = archive.server.database_url or sqlite_url(archive.server.data_dir / "neuropil.db")
    database = Database(url)
    yield database
    database.dispose()


def _combinations_hold_the_values(db: Database) -> None:
    reported = ", ".join(f"'{f}'" for f in FACETS)
    with db.engine.connect() as conn:
        values = conn.execute(
            sa.text(
                f"SELECT dandiset_id, facet, value FROM search_facets WHERE facet IN ({reported})"
            )
        ).all()
        combined = conn.execute(
            sa.text(
                """SELECT m.dandiset_id, v.facet, v.value FROM search_dandiset_facets m
                JOIN search_facet_set_values v ON v.set_id = m.set_id"""
            )
        ).all()
    assert sorted(combined) == sorted(values)


def _facets(anon: httpx.Client, q: str) -> dict[str, dict[str, int]]:
    return {f: {v["value"]: v["count"] for v in vs} for f, vs in find(anon, q)["facets"].items()}


def test_facet_counts_follow_every_write(
    alice: httpx.Client, anon: httpx.Client, db: Database
) -> None:
    w = word()
    a = create_dandiset(alice, f"first {w}")
    b = create_dandiset(alice, f"second {w}")
    upload_asset(alice, a, "m.nwb", random_bytes(10), asset_md(MOUSE, approach=[ECEPHYS]))
    upload_asset(alice, b, "m.nwb", random_bytes(11), asset_md(MOUSE, approach=[ECEPHYS]))
    assert _facets(anon, w)["species"] == {"Mus musculus - House mouse": 2}
    _combinations_hold_the_values(db)

    # A value new to a dandiset changes its combination; one more asset with it does not.
    rat = upload_asset(alice, a, "r.nwb", random_bytes(12), asset_md(RAT))
    upload_asset(alice, a, "r2.nwb", random_bytes(13), asset_md(RAT))
    facets = _facets(anon, w)
    assert facets["species"] == {
        "Mus musculus - House mouse": 2,
        "Rattus norvegicus - Norway rat": 1,
    }
    assert facets["approach"] == {"electrophysiological approach": 2}
    _combinations_hold_the_values(db)

    # Removing one of two rat assets keeps the value; removing the last one drops it.
    assert alice.delete(f"{assets_url(a)}{rat['asset_id']}/").status_code == 204
    assert _facets(anon, w)["species"]["Rattus norvegicus - Norway rat"] == 1
    listed = alice.get(assets_url(a), params={"path": "r2.nwb"}).json()["results"]
    assert alice.delete(f"{assets_url(a)}{listed[0]['asset_id']}/").status_code == 204
    assert _facets(anon, w)["species"] == {"Mus musculus - House mouse": 2}
    _combinations_hold_the_values(db)

    # A deleted dandiset counts no more, and leaves no combination row behind.
    assert alice.delete(f"dandisets/{b}/").status_code == 204
    assert _facets(anon, w)["species"] == {"Mus musculus - House mouse": 1}
    _combinations_hold_the_values(db)
    with db.engine.connect() as conn:
        left = conn.execute(
            sa.text("SELECT count(*) FROM search_dandiset_facets WHERE dandiset_id = :i"),
            {"i": int(b)},
        ).scalar()
    assert left == 0


def test_upkeep_runs_only_what_is_due(archive: Archive, db: Database) -> None:
    forced = maintenance.refresh_statistics(db, force=True)
    assert any("search_facets" in s for s in forced)
    assert any("search_dandiset_facets" in s for s in forced)
    assert maintenance.refresh_statistics(db) == []
    states = {t.table: t for t in maintenance.table_stats(db)}
    assert set(maintenance.SEARCH_TABLES) <= set(states)
    assert all(states[t].analyzed_rows is not None for t in maintenance.SEARCH_TABLES)
    if not db.is_sqlite:  # vacuumed: every page of the search tables is all-visible
        with db.engine.connect() as conn:
            unmapped = conn.execute(
                sa.text(
                    "SELECT relname FROM pg_class WHERE relname = ANY(:t) "
                    "AND relallvisible < relpages"
                ),
                {"t": [t for t in maintenance.SEARCH_TABLES if t != "search_facet_sets"]},
            ).all()
        assert unmapped == []


def test_sqlite_rules() -> None:
    due = maintenance._sqlite_due(
        {
            "never_small": (10, None),
            "never_large": (5000, None),
            "grew": (5000, 2000),
            "shrank": (900, 2000),
            "steady": (2100, 2000),
        },
        force=False,
    )
    assert due == ["ANALYZE never_large", "ANALYZE grew", "ANALYZE shrank"]


def test_postgres_rules() -> None:
    # name, tuples, never analyzed, pages, all-visible pages, modified, inserted, dead, ...
    rows = [
        ("search_words", 100_000, False, 1000, 1000, 0, 0, 0, None, None),
        ("search_facets", 100_000, False, 1000, 100, 0, 0, 0, None, None),  # unmapped
        ("search_dandisets", 10_000, False, 500, 500, 0, 5000, 0, None, None),  # inserted
        ("dandisets", 10_000, False, 80, 0, 1000, 0, 0, None, None),  # stale
        ("versions", 0, True, 0, 0, 0, 0, 0, None, None),  # never analyzed
    ]
    assert maintenance._postgres_due(rows, force=False) == [
        "VACUUM (ANALYZE) search_facets",
        "VACUUM (ANALYZE) search_dandisets",
        "ANALYZE dandisets",
        "ANALYZE versions",
    ]


def test_search_transactions_plan_for_the_values_at_hand(db: Database) -> None:
    if db.is_sqlite:
        pytest.skip("PostgreSQL settings")
    with db.read() as s:
        engine_for(db).prepare(s)
        settings = {
            name: s.execute(sa.text(f"SHOW {name}")).scalar()
            for name in ("enable_seqscan", "jit", "plan_cache_mode")
        }
    assert settings == {
        "enable_seqscan": "off",
        "jit": "off",
        "plan_cache_mode": "force_custom_plan",
    }
    with db.read() as s:  # SET LOCAL: the next transaction has the defaults again
        assert s.execute(sa.text("SHOW plan_cache_mode")).scalar() == "auto"


def test_a_search_listing_keeps_its_settings_where_reads_skip_transactions(db: Database) -> None:
    """The hot reads run outside transactions on PostgreSQL (on a worker thread, and on
    the event loop through the asyncio driver), where ``SET LOCAL`` would last for one
    statement. A search listing's read has a transaction there: its settings hold for its
    statements; the connection goes back to the pool outside transactions again."""
    if db.is_sqlite:
        pytest.skip("PostgreSQL settings")

    def settings(transaction: bool) -> Any:
        with db.rows(transaction=transaction) as c:
            engine_for(db).prepare(c)
            return c.execute(sa.text("SHOW enable_seqscan")).scalar()

    with db.statement_reads():
        assert settings(False) == "on"  # what a read outside transactions gets
        assert settings(True) == "off"
        assert settings(False) == "on"

    async def on_the_loop() -> list[Any]:
        reads = db.loop_reads()
        assert reads is not None
        try:
            return [await reads.run(lambda t=t: settings(t)) for t in (False, True, False)]
        finally:
            await reads.dispose()

    assert asyncio.run(on_the_loop()) == ["on", "off", "on"]
