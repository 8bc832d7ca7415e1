"""search: facet sets (exact facet counts without a row per dandiset and value), and index
upkeep settings for the search tables

Facet counts over a result count, for each value, the matching dandisets holding it. Read
from ``search_facets`` that is one row per (dandiset, value): 40,000 rows joined and grouped
by text for a query matching 10,000 dandisets. Most dandisets share their combination of
values with many others (a species, an approach, a technique, a file type), so:

- ``search_facet_sets``: each distinct combination of reported values (species, approach,
  technique, file_type) held by a draft, keyed by its canonical JSON text (on PostgreSQL by
  its md5: a B-tree entry must stay under 2.7 kB);
- ``search_facet_set_values``: the values of each combination;
- ``search_dandiset_facets``: the combination of each dandiset that has one.

A result is then counted per combination (one integer per matching dandiset) and expanded
to values afterwards (a few dozen combinations). Triggers on ``search_facets`` keep it in
the transaction of the write, like the rest of the search index: a dandiset's combination
is recomputed when one of its reported values appears or disappears (asset counts changing
are updates and leave it alone). Combinations no dandiset holds any more stay (a few rows);
counting never reaches them.

PostgreSQL, also: the GIN index of the dandiset documents stops buffering new entries in its
pending list (``fastupdate``), which every search had to scan linearly until a VACUUM —
3.5 MB of it after a bulk load; and the search tables get autovacuum/autoanalyze thresholds
in proportion to their churn (every upload updates their counts), so that statistics and the
visibility map index-only scans need follow large ingests. See docs/design/search.md.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

import neuropil.db.types

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

#: The facets a search result reports (``services/search/engine.py: FACETS``, frozen here).
FACETS = ("species", "approach", "technique", "file_type")
_REPORTED = "({})".format(", ".join(f"'{f}'" for f in FACETS))


# -- SQLite -----------------------------------------------------------------------------------
def _sqlite_signature(dandiset: str) -> str:
    """The canonical JSON text of the reported values of ``dandiset`` (``'[]'`` if none)."""
    return f"""(SELECT json_group_array(json_array(facet, value)) FROM (
        SELECT facet, value FROM search_facets
        WHERE dandiset_id = {dandiset} AND facet IN {_REPORTED} ORDER BY facet, value))"""


def _sqlite_refresh(dandiset: str) -> list[str]:
    sig = _sqlite_signature(dandiset)
    return [
        f"""INSERT INTO search_facet_sets (key, signature)
        SELECT sig, sig FROM (SELECT {sig} AS sig) WHERE sig <> '[]'
        ON CONFLICT (key) DO NOTHING""",
        f"""INSERT INTO search_facet_set_values (set_id, facet, value)
        SELECT s.id, f.facet, f.value FROM search_facet_sets s, search_facets f
        WHERE s.key = {sig} AND f.dandiset_id = {dandiset} AND f.facet IN {_REPORTED}
        ON CONFLICT DO NOTHING""",
        f"DELETE FROM search_dandiset_facets WHERE dandiset_id = {dandiset}",
        # A cascade from a deleted dandiset removes its values one by one: no row for it.
        f"""INSERT INTO search_dandiset_facets (dandiset_id, set_id)
        SELECT {dandiset}, s.id FROM search_facet_sets s WHERE s.key = {sig}
        AND EXISTS (SELECT 1 FROM dandisets WHERE id = {dandiset})""",
    ]


def _sqlite_triggers() -> dict[str, str]:
    def body(statements: list[str]) -> str:
        return "BEGIN " + "; ".join(statements) + "; END"

    return {
        "np_search_facet_added": f"""AFTER INSERT ON search_facets FOR EACH ROW
            WHEN NEW.facet IN {_REPORTED} {body(_sqlite_refresh("NEW.dandiset_id"))}""",
        "np_search_facet_removed": f"""AFTER DELETE ON search_facets FOR EACH ROW
            WHEN OLD.facet IN {_REPORTED} {body(_sqlite_refresh("OLD.dandiset_id"))}""",
    }


def _sqlite_upgrade() -> None:
    signatures = f"""SELECT dandiset_id, json_group_array(json_array(facet, value)) AS sig
        FROM (SELECT dandiset_id, facet, value FROM search_facets WHERE facet IN {_REPORTED}
              ORDER BY dandiset_id, facet, value)
        GROUP BY dandiset_id"""
    op.execute(
        f"""INSERT INTO search_facet_sets (key, signature)
        SELECT DISTINCT sig, sig FROM ({signatures}) WHERE true ON CONFLICT (key) DO NOTHING"""
    )
    op.execute(
        f"""INSERT INTO search_dandiset_facets (dandiset_id, set_id)
        SELECT d.dandiset_id, s.id FROM ({signatures}) d JOIN search_facet_sets s
        ON s.key = d.sig"""
    )
    op.execute(
        f"""INSERT INTO search_facet_set_values (set_id, facet, value)
        SELECT m.set_id, f.facet, f.value FROM search_dandiset_facets m
        JOIN search_facets f ON f.dandiset_id = m.dandiset_id AND f.facet IN {_REPORTED}
        WHERE true ON CONFLICT DO NOTHING"""
    )
    for name, definition in _sqlite_triggers().items():
        op.execute(f"CREATE TRIGGER {name} {definition}")


# -- PostgreSQL -------------------------------------------------------------------------------
_PG_SIGNATURES = f"""SELECT x.id AS dandiset_id, (
        SELECT json_agg(json_build_array(f.facet, f.value) ORDER BY f.facet, f.value)::text
        FROM search_facets f WHERE f.dandiset_id = x.id AND f.facet IN {_REPORTED}) AS sig
    FROM unnest(ids) AS x(id)"""

POSTGRES_FUNCTIONS = [
    # Set-based: a bulk load recomputes each touched dandiset once per statement.
    f"""CREATE FUNCTION np_search_refresh_facet_sets(ids integer[]) RETURNS void
    LANGUAGE plpgsql AS $$
    BEGIN
        IF cardinality(ids) = 0 THEN
            RETURN;
        END IF;
        INSERT INTO search_facet_sets (key, signature)
        SELECT DISTINCT md5(sig), sig FROM ({_PG_SIGNATURES}) s WHERE sig IS NOT NULL
        ON CONFLICT (key) DO NOTHING;
        INSERT INTO search_facet_set_values (set_id, facet, value)
        SELECT DISTINCT fs.id, f.facet, f.value FROM ({_PG_SIGNATURES}) s
        JOIN search_facet_sets fs ON fs.key = md5(s.sig)
        JOIN search_facets f ON f.dandiset_id = s.dandiset_id AND f.facet IN {_REPORTED}
        ON CONFLICT DO NOTHING;
        DELETE FROM search_dandiset_facets WHERE dandiset_id = ANY (ids);
        -- A cascade from a deleted dandiset finds no dandisets row: no row for it.
        INSERT INTO search_dandiset_facets (dandiset_id, set_id)
        SELECT s.dandiset_id, fs.id FROM ({_PG_SIGNATURES}) s
        JOIN search_facet_sets fs ON fs.key = md5(s.sig)
        JOIN dandisets d ON d.id = s.dandiset_id;
    END $$""",
    f"""CREATE FUNCTION np_search_facets_added() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM np_search_refresh_facet_sets(ARRAY(
            SELECT DISTINCT dandiset_id FROM added WHERE facet IN {_REPORTED}));
        RETURN NULL;
    END $$""",
    f"""CREATE FUNCTION np_search_facets_removed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM np_search_refresh_facet_sets(ARRAY(
            SELECT DISTINCT dandiset_id FROM removed WHERE facet IN {_REPORTED}));
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER np_search_facets_added AFTER INSERT ON search_facets
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT
    EXECUTE FUNCTION np_search_facets_added()""",
    """CREATE TRIGGER np_search_facets_removed AFTER DELETE ON search_facets
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT
    EXECUTE FUNCTION np_search_facets_removed()""",
]

#: Autovacuum/autoanalyze thresholds of the search tables. Every upload updates their asset
#: counts, so with the defaults (20 % of the table) their visibility map — which lets the
#: (word, dandiset) and (facet, value, dandiset) indexes answer without visiting the table —
#: and their statistics lag a large ingest by hours. Vacuuming them is cheap: they are small.
PG_TABLE_SETTINGS = {
    "search_words": "0.02",
    "search_facets": "0.02",
    "search_dandisets": "0.05",
    "search_dandiset_facets": "0.05",
}


def _pg_settings(table: str, fraction: str) -> str:
    return f"""ALTER TABLE {table} SET (
        autovacuum_vacuum_scale_factor = {fraction},
        autovacuum_vacuum_insert_scale_factor = {fraction},
        autovacuum_analyze_scale_factor = {fraction})"""


def _pg_upgrade() -> None:
    for statement in POSTGRES_FUNCTIONS:
        op.execute(statement)
    op.execute(
        "SELECT np_search_refresh_facet_sets(ARRAY("
        f"SELECT DISTINCT dandiset_id FROM search_facets WHERE facet IN {_REPORTED}))"
    )
    op.execute("ALTER INDEX ix_search_dandisets_document SET (fastupdate = off)")
    # Turning fastupdate off leaves the entries already pending: merge them now.
    op.execute("SELECT gin_clean_pending_list('ix_search_dandisets_document')")
    for table, fraction in PG_TABLE_SETTINGS.items():
        op.execute(_pg_settings(table, fraction))


def _create_tables() -> None:
    op.create_table(
        "search_facet_sets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", neuropil.db.types.BinaryText, nullable=False),
        sa.Column("signature", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_facet_sets")),
        sa.UniqueConstraint("key", name=op.f("uq_search_facet_sets_key")),
    )
    op.create_table(
        "search_facet_set_values",
        sa.Column("set_id", sa.Integer(), nullable=False),
        sa.Column("facet", sa.String(length=16), nullable=False),
        sa.Column("value", neuropil.db.types.BinaryText, nullable=False),
        sa.ForeignKeyConstraint(
            ["set_id"],
            ["search_facet_sets.id"],
            name=op.f("fk_search_facet_set_values_set_id_search_facet_sets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "set_id", "facet", "value", name=op.f("pk_search_facet_set_values")
        ),
    )
    op.create_table(
        "search_dandiset_facets",
        sa.Column("dandiset_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("set_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["dandiset_id"],
            ["dandisets.id"],
            name=op.f("fk_search_dandiset_facets_dandiset_id_dandisets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["set_id"],
            ["search_facet_sets.id"],
            name=op.f("fk_search_dandiset_facets_set_id_search_facet_sets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("dandiset_id", name=op.f("pk_search_dandiset_facets")),
    )


def upgrade() -> None:
    _create_tables()
    if op.get_bind().dialect.name == "postgresql":
        _pg_upgrade()
    else:
        _sqlite_upgrade()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS np_search_facets_added ON search_facets")
        op.execute("DROP TRIGGER IF EXISTS np_search_facets_removed ON search_facets")
        op.execute("DROP FUNCTION IF EXISTS np_search_facets_added()")
        op.execute("DROP FUNCTION IF EXISTS np_search_facets_removed()")
        op.execute("DROP FUNCTION IF EXISTS np_search_refresh_facet_sets(integer[])")
        op.execute("ALTER INDEX ix_search_dandisets_document RESET (fastupdate)")
        for table in ("search_words", "search_facets", "search_dandisets"):
            op.execute(
                f"""ALTER TABLE {table} RESET (autovacuum_vacuum_scale_factor,
                autovacuum_vacuum_insert_scale_factor, autovacuum_analyze_scale_factor)"""
            )
    else:
        for name in _sqlite_triggers():
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_table("search_dandiset_facets")
    op.drop_table("search_facet_set_values")
    op.drop_table("search_facet_sets")
