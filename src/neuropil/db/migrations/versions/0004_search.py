"""search index: SQLite FTS5 / PostgreSQL tsvector, kept by triggers

The index covers the draft of each dandiset (its living state; a published version is the
draft as it was, so the search reports it while the draft is unchanged):

- a document per dandiset: identifier, name, description and keywords, every other string
  of the metadata and of the stored ``assetsSummary``;
- a document per asset of a draft: its path and its metadata values (species, approach,
  measurement technique, variable measured, encoding format);
- ``search_words``: the distinct words of each draft's asset paths, with asset counts;
- ``search_facets``: the metadata values of each draft's assets, with asset counts.

Triggers on ``versions``, ``version_assets`` and ``dandisets`` maintain all of it inside the
transaction of the write, on SQLite and PostgreSQL alike. They write only to the tables
above, never to the rows migration 0003 protects, and skip published versions.

On SQLite, documents live in FTS5 tables whose rowid is the dandiset id, or for assets
``dandiset_id << 32 | assets.id`` so a dandiset's assets are one rowid range. PostgreSQL keeps
``tsvector`` columns with GIN indexes; its ``version_assets`` triggers run once per
statement over the transition tables, so publishing or bulk loads stay set-based.

Text is split into words at anything that is not a letter or digit on both backends (SQLite
splits path words for ``search_words`` at ASCII punctuation only; see docs/design/search.md).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# -- SQLite -----------------------------------------------------------------------------------
_TOKENIZE = "tokenize = 'unicode61 remove_diacritics 2'"
#: The comma goes first: later replacements insert commas of their own.
_SEPARATORS = ",/_-. ()+"


def _sqlite_split(expr: str) -> str:
    """A JSON array of the words of ``expr`` (lower case) for ``json_each``."""
    text = f"replace(replace(lower({expr}), '\\', '\\\\'), '\"', '\\\"')"
    for sep in _SEPARATORS:
        quoted = sep.replace("'", "''")
        text = f"replace({text}, '{quoted}', '\",\"')"
    return f"""('["' || {text} || '"]')"""


#: (facet, JSON array path, path of the value inside an item) read from asset metadata.
_FACET_ARRAYS = (
    ("species", "$.wasAttributedTo", "$.species.name"),
    ("approach", "$.approach", "$.name"),
    ("technique", "$.measurementTechnique", "$.name"),
    ("variable", "$.variableMeasured", "$.value"),
)


def _sqlite_facets(md: str, cols: str = "", tables: str = "", where: str = "") -> str:
    """``cols..., facet, value`` rows of asset metadata ``md``, one per distinct value.

    ``tables``/``where`` join other rows in (SQLite has no LATERAL: ``json_each`` must sit in
    the same FROM as the row whose metadata it reads).
    """
    selects = [
        f"""SELECT {cols} '{facet}' AS facet, json_extract(x.value, '{item}') AS value
        FROM {tables} json_each({md}, '{path}') x
        WHERE {where} json_type({md}, '{path}') = 'array' AND x.type = 'object'
          AND json_type(x.value, '{item}') = 'text'"""
        for facet, path, item in _FACET_ARRAYS
    ]
    from_ = f"FROM {tables.rstrip(', ')}" if tables else ""
    selects.append(
        f"""SELECT {cols} 'file_type', json_extract({md}, '$.encodingFormat') {from_}
        WHERE {where} json_type({md}, '$.encodingFormat') = 'text'"""
    )
    return " UNION ".join(selects)


def _sqlite_dandiset_doc(v: str) -> str:
    """``rowid, identifier, name, description, other`` of a draft row ``v``."""
    strings = "SELECT group_concat(value, ' ') FROM json_tree({}) WHERE type = 'text'"
    return f"""{v}.dandiset_id, 'DANDI:' || printf('%06d', {v}.dandiset_id), {v}.name,
        coalesce(json_extract({v}.metadata, '$.description'), '') || ' ' || coalesce((
            SELECT group_concat(value, ' ') FROM json_each({v}.metadata, '$.keywords')
            WHERE json_type({v}.metadata, '$.keywords') = 'array' AND type = 'text'), ''),
        coalesce(({strings.format(f"{v}.metadata")}
            AND fullkey <> '$.description' AND fullkey NOT LIKE '$.keywords%'), '')
        || ' ' || coalesce(({strings.format(f"coalesce({v}.assets_summary, '{{}}')")}), '')"""


_DANDISET_FTS_INSERT = (
    "INSERT INTO search_dandiset_fts(rowid, identifier, name, description, other) SELECT "
)
_ASSET_FTS_INSERT = "INSERT INTO search_asset_fts(rowid, path, meta) SELECT "


def _sqlite_asset_doc(va: str, v: str, a: str) -> str:
    """``rowid, path, meta`` of membership row ``va`` in draft ``v`` of asset ``a``."""
    return f"""({v}.dandiset_id << 32) | {va}.asset_id, {va}.path,
        coalesce((SELECT group_concat(value, ' ') FROM ({_sqlite_facets(f"{a}.metadata")})), '')"""


def _sqlite_member_insert() -> list[str]:
    md = "(SELECT metadata FROM assets WHERE id = NEW.asset_id)"
    return [
        f"""{_ASSET_FTS_INSERT} {_sqlite_asset_doc("NEW", "v", "a")}
        FROM versions v, assets a WHERE v.id = NEW.version_id AND a.id = NEW.asset_id""",
        f"""INSERT INTO search_words(dandiset_id, word, n)
        SELECT DISTINCT v.dandiset_id, w.value, 1
        FROM versions v, json_each({_sqlite_split("NEW.path")}) w
        WHERE v.id = NEW.version_id AND w.value <> ''
        ON CONFLICT (dandiset_id, word) DO UPDATE SET n = n + 1""",
        f"""INSERT INTO search_facets(dandiset_id, facet, value, n)
        SELECT dandiset_id, facet, value, 1 FROM ({
            _sqlite_facets(
                md, "v.dandiset_id AS dandiset_id,", "versions v,", "v.id = NEW.version_id AND"
            )
        }) WHERE true
        ON CONFLICT (dandiset_id, facet, value) DO UPDATE SET n = n + 1""",
    ]


def _sqlite_member_delete() -> list[str]:
    d = "(SELECT dandiset_id FROM versions WHERE id = OLD.version_id)"
    md = "(SELECT metadata FROM assets WHERE id = OLD.asset_id)"
    words = f"(SELECT DISTINCT value FROM json_each({_sqlite_split('OLD.path')}))"
    facets = f"(SELECT facet, value FROM ({_sqlite_facets(md)}))"
    return [
        f"DELETE FROM search_asset_fts WHERE rowid = ({d} << 32) | OLD.asset_id",
        f"UPDATE search_words SET n = n - 1 WHERE dandiset_id = {d} AND word IN {words}",
        f"DELETE FROM search_words WHERE dandiset_id = {d} AND word IN {words} AND n <= 0",
        f"""UPDATE search_facets SET n = n - 1
        WHERE dandiset_id = {d} AND (facet, value) IN {facets}""",
        f"DELETE FROM search_facets WHERE dandiset_id = {d} AND n <= 0",
    ]


def _sqlite_triggers() -> dict[str, str]:
    draft_new = "(SELECT version FROM versions WHERE id = NEW.version_id) = 'draft'"
    draft_old = "(SELECT version FROM versions WHERE id = OLD.version_id) = 'draft'"
    doc = f"{_DANDISET_FTS_INSERT} {_sqlite_dandiset_doc('NEW')}"

    def body(statements: list[str]) -> str:
        return "BEGIN " + "; ".join(statements) + "; END"

    return {
        "np_search_version_insert": f"""AFTER INSERT ON versions FOR EACH ROW
            WHEN NEW.version = 'draft' {body([doc])}""",
        "np_search_version_update": f"""AFTER UPDATE OF name, metadata, assets_summary
            ON versions FOR EACH ROW WHEN NEW.version = 'draft'
            {body(["DELETE FROM search_dandiset_fts WHERE rowid = OLD.dandiset_id", doc])}""",
        "np_search_version_delete": f"""AFTER DELETE ON versions FOR EACH ROW
            WHEN OLD.version = 'draft'
            {body(["DELETE FROM search_dandiset_fts WHERE rowid = OLD.dandiset_id"])}""",
        "np_search_member_insert": f"""AFTER INSERT ON version_assets FOR EACH ROW
            WHEN {draft_new} {body(_sqlite_member_insert())}""",
        "np_search_member_delete": f"""AFTER DELETE ON version_assets FOR EACH ROW
            WHEN {draft_old} {body(_sqlite_member_delete())}""",
        # Cascades may delete a draft's memberships after the draft row: clear by range.
        "np_search_dandiset_delete": f"""AFTER DELETE ON dandisets FOR EACH ROW {
            body(
                [
                    "DELETE FROM search_dandiset_fts WHERE rowid = OLD.id",
                    "DELETE FROM search_asset_fts WHERE rowid >= (OLD.id << 32) "
                    "AND rowid < ((OLD.id + 1) << 32)",
                    "DELETE FROM search_words WHERE dandiset_id = OLD.id",
                    "DELETE FROM search_facets WHERE dandiset_id = OLD.id",
                ]
            )
        }""",
    }


def _sqlite_upgrade() -> None:
    op.execute(
        "CREATE VIRTUAL TABLE search_dandiset_fts USING fts5("
        f"identifier, name, description, other, {_TOKENIZE})"
    )
    op.execute(f"CREATE VIRTUAL TABLE search_asset_fts USING fts5(path, meta, {_TOKENIZE})")
    # Index what is already there, then keep it with triggers.
    op.execute(
        f"{_DANDISET_FTS_INSERT} {_sqlite_dandiset_doc('v')} FROM versions v "
        "WHERE v.version = 'draft'"
    )
    members = """FROM version_assets va JOIN versions v ON v.id = va.version_id
        AND v.version = 'draft' JOIN assets a ON a.id = va.asset_id"""
    op.execute(f"{_ASSET_FTS_INSERT} {_sqlite_asset_doc('va', 'v', 'a')} {members}")
    op.execute(
        f"""INSERT INTO search_words(dandiset_id, word, n)
        SELECT dandiset_id, word, count(*) FROM (
            SELECT DISTINCT v.dandiset_id, va.asset_id, w.value AS word {members},
            json_each({_sqlite_split("va.path")}) w WHERE w.value <> '')
        GROUP BY dandiset_id, word"""
    )
    joined = """version_assets va JOIN versions v ON v.id = va.version_id
        AND v.version = 'draft' JOIN assets a ON a.id = va.asset_id,"""
    op.execute(
        f"""INSERT INTO search_facets(dandiset_id, facet, value, n)
        SELECT dandiset_id, facet, value, count(*) FROM ({
            _sqlite_facets("a.metadata", "v.dandiset_id AS dandiset_id, va.asset_id,", joined)
        }) GROUP BY dandiset_id, facet, value"""
    )
    for name, definition in _sqlite_triggers().items():
        op.execute(f"CREATE TRIGGER {name} {definition}")


# -- PostgreSQL -------------------------------------------------------------------------------
#: Input to ``to_tsvector`` is capped: a tsvector holds at most 1 MB, and a write must not
#: fail because a description is very long.
_MAX_TEXT = 200_000


def _pg_array(path: str, item: str, facet: str) -> str:
    return f"""SELECT '{facet}'::text, x #>> '{item}' FROM jsonb_array_elements(
        CASE WHEN jsonb_typeof(md -> '{path}') = 'array' THEN md -> '{path}'
        ELSE '[]'::jsonb END) x
        WHERE jsonb_typeof(x) = 'object' AND jsonb_typeof(x #> '{item}') = 'string'"""


POSTGRES_FUNCTIONS = [
    f"""CREATE FUNCTION np_search_text(t text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
        SELECT regexp_replace(lower(left(coalesce(t, ''), {_MAX_TEXT})), '[^[:alnum:]]+', ' ', 'g')
    $$""",
    """CREATE FUNCTION np_search_strings(doc jsonb) RETURNS text LANGUAGE sql IMMUTABLE AS $$
        SELECT coalesce(string_agg(v #>> '{}', ' '), '')
        FROM jsonb_path_query(coalesce(doc, '{}'::jsonb), 'strict $.**') v
        WHERE jsonb_typeof(v) = 'string'
    $$""",
    f"""CREATE FUNCTION np_search_facets(md jsonb) RETURNS TABLE (facet text, value text)
    LANGUAGE sql IMMUTABLE AS $$
        {_pg_array("wasAttributedTo", "{species,name}", "species")}
        UNION {_pg_array("approach", "{name}", "approach")}
        UNION {_pg_array("measurementTechnique", "{name}", "technique")}
        UNION {_pg_array("variableMeasured", "{value}", "variable")}
        UNION SELECT 'file_type', md ->> 'encodingFormat'
            WHERE jsonb_typeof(md -> 'encodingFormat') = 'string'
    $$""",
    """CREATE FUNCTION np_search_description(md jsonb) RETURNS text LANGUAGE sql IMMUTABLE AS $$
        SELECT coalesce(md ->> 'description', '') || ' ' || coalesce((
            SELECT string_agg(k, ' ') FROM jsonb_array_elements_text(
                CASE WHEN jsonb_typeof(md -> 'keywords') = 'array' THEN md -> 'keywords'
                ELSE '[]'::jsonb END) k), '')
    $$""",
    """CREATE FUNCTION np_search_document(dandiset_id integer, name text, md jsonb,
        summary jsonb) RETURNS tsvector LANGUAGE sql IMMUTABLE AS $$
        SELECT setweight(to_tsvector('simple',
                    np_search_text('DANDI:' || lpad(dandiset_id::text, 6, '0'))), 'A')
            || setweight(to_tsvector('simple', np_search_text(name)), 'A')
            || setweight(to_tsvector('simple', np_search_text(np_search_description(md))), 'B')
            || setweight(to_tsvector('simple', np_search_text(
                    np_search_strings(md - 'description' - 'keywords')
                    || ' ' || np_search_strings(summary))), 'D')
    $$""",
    """CREATE FUNCTION np_search_asset_document(path text, md jsonb) RETURNS tsvector
    LANGUAGE sql IMMUTABLE AS $$
        SELECT setweight(to_tsvector('simple', np_search_text(path)), 'A')
            || setweight(to_tsvector('simple', np_search_text(
                (SELECT string_agg(f.value, ' ') FROM np_search_facets(md) f))), 'B')
    $$""",
]


def _pg_members(source: str) -> str:
    """Rows ``m`` of ``source`` that belong to a draft ``v``, with their asset ``a``."""
    return f"""FROM {source} m JOIN versions v ON v.id = m.version_id AND v.version = 'draft'
        JOIN assets a ON a.id = m.asset_id"""


def _pg_added(source: str) -> list[str]:
    members = _pg_members(source)
    return [
        f"""INSERT INTO search_assets (dandiset_id, asset_id, document)
        SELECT v.dandiset_id, m.asset_id, np_search_asset_document(m.path, a.metadata)
        {members} ON CONFLICT DO NOTHING""",
        f"""INSERT INTO search_words (dandiset_id, word, n)
        SELECT dandiset_id, word, count(*) FROM (
            SELECT DISTINCT v.dandiset_id, m.asset_id, w AS word {members},
            regexp_split_to_table(lower(m.path), '[^[:alnum:]]+') w WHERE w <> '') x
        GROUP BY dandiset_id, word
        ON CONFLICT (dandiset_id, word) DO UPDATE SET n = search_words.n + EXCLUDED.n""",
        f"""INSERT INTO search_facets (dandiset_id, facet, value, n)
        SELECT v.dandiset_id, f.facet, f.value, count(*) {members},
        np_search_facets(a.metadata) f GROUP BY v.dandiset_id, f.facet, f.value
        ON CONFLICT (dandiset_id, facet, value) DO UPDATE SET n = search_facets.n + EXCLUDED.n""",
    ]


def _pg_removed() -> list[str]:
    # Draft rows only; in a cascade from a deleted dandiset the versions rows are gone and
    # the foreign keys of the search tables remove their rows instead.
    members = """FROM removed m JOIN versions v ON v.id = m.version_id AND v.version = 'draft'
        LEFT JOIN assets a ON a.id = m.asset_id"""
    words = f"""SELECT dandiset_id, word, count(*) AS c FROM (
        SELECT DISTINCT v.dandiset_id, m.asset_id, w AS word {members},
        regexp_split_to_table(lower(m.path), '[^[:alnum:]]+') w WHERE w <> '') x
        GROUP BY dandiset_id, word"""
    facets = f"""SELECT v.dandiset_id, f.facet, f.value, count(*) AS c {members},
        np_search_facets(a.metadata) f GROUP BY v.dandiset_id, f.facet, f.value"""
    return [
        f"""DELETE FROM search_assets s USING (SELECT v.dandiset_id, m.asset_id {members}) d
        WHERE s.dandiset_id = d.dandiset_id AND s.asset_id = d.asset_id""",
        f"""UPDATE search_words s SET n = s.n - d.c FROM ({words}) d
        WHERE s.dandiset_id = d.dandiset_id AND s.word = d.word""",
        f"""DELETE FROM search_words s USING ({words}) d
        WHERE s.dandiset_id = d.dandiset_id AND s.word = d.word AND s.n <= 0""",
        f"""UPDATE search_facets s SET n = s.n - d.c FROM ({facets}) d
        WHERE s.dandiset_id = d.dandiset_id AND s.facet = d.facet AND s.value = d.value""",
        f"""DELETE FROM search_facets s USING ({facets}) d
        WHERE s.dandiset_id = d.dandiset_id AND s.facet = d.facet AND s.value = d.value
        AND s.n <= 0""",
    ]


def _plpgsql(name: str, statements: list[str]) -> str:
    body = ";\n".join(statements)
    return f"""CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        {body};
        RETURN NULL;
    END $$"""


_PG_DOCUMENT = """SELECT NEW.dandiset_id, np_search_description(NEW.metadata),
    np_search_document(NEW.dandiset_id, NEW.name, NEW.metadata, NEW.assets_summary)"""

POSTGRES_TRIGGERS = [
    f"""CREATE FUNCTION np_search_version() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'DELETE' THEN
            DELETE FROM search_dandisets WHERE dandiset_id = OLD.dandiset_id;
        ELSE
            INSERT INTO search_dandisets (dandiset_id, description, document) {_PG_DOCUMENT}
            ON CONFLICT (dandiset_id) DO UPDATE SET description = EXCLUDED.description,
                document = EXCLUDED.document;
        END IF;
        RETURN NULL;
    END $$""",
    _plpgsql("np_search_members_added", _pg_added("added")),
    _plpgsql("np_search_members_removed", _pg_removed()),
    """CREATE TRIGGER np_search_version_write
    AFTER INSERT OR UPDATE OF name, metadata, assets_summary ON versions
    FOR EACH ROW WHEN (NEW.version = 'draft') EXECUTE FUNCTION np_search_version()""",
    """CREATE TRIGGER np_search_version_delete AFTER DELETE ON versions
    FOR EACH ROW WHEN (OLD.version = 'draft') EXECUTE FUNCTION np_search_version()""",
    """CREATE TRIGGER np_search_members_added AFTER INSERT ON version_assets
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT
    EXECUTE FUNCTION np_search_members_added()""",
    """CREATE TRIGGER np_search_members_removed AFTER DELETE ON version_assets
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT
    EXECUTE FUNCTION np_search_members_removed()""",
]


def _pg_upgrade() -> None:
    op.create_table(
        "search_dandisets",
        sa.Column("dandiset_id", sa.Integer(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("document", postgresql.TSVECTOR(), nullable=False),
        sa.ForeignKeyConstraint(
            ["dandiset_id"],
            ["dandisets.id"],
            name=op.f("fk_search_dandisets_dandiset_id_dandisets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("dandiset_id", name=op.f("pk_search_dandisets")),
    )
    op.create_index(
        "ix_search_dandisets_document",
        "search_dandisets",
        ["document"],
        postgresql_using="gin",
    )
    op.create_table(
        "search_assets",
        sa.Column("dandiset_id", sa.Integer(), nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("document", postgresql.TSVECTOR(), nullable=False),
        sa.ForeignKeyConstraint(
            ["dandiset_id"],
            ["dandisets.id"],
            name=op.f("fk_search_assets_dandiset_id_dandisets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["asset_id"],
            ["assets.id"],
            name=op.f("fk_search_assets_asset_id_assets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("dandiset_id", "asset_id", name=op.f("pk_search_assets")),
    )
    op.create_index("ix_search_assets_asset_id", "search_assets", ["asset_id"])
    op.create_index(
        "ix_search_assets_document", "search_assets", ["document"], postgresql_using="gin"
    )
    for statement in POSTGRES_FUNCTIONS:
        op.execute(statement)
    # Index what is already there, then keep it with triggers.
    op.execute(
        "INSERT INTO search_dandisets (dandiset_id, description, document) "
        + _PG_DOCUMENT.replace("NEW.", "v.")
        + " FROM versions v WHERE v.version = 'draft'"
    )
    for statement in _pg_added("version_assets"):
        op.execute(statement)
    for statement in POSTGRES_TRIGGERS:
        op.execute(statement)


def _shared_tables() -> None:
    op.create_table(
        "search_words",
        sa.Column("dandiset_id", sa.Integer(), nullable=False),
        sa.Column(
            "word", sa.String().with_variant(sa.String(collation="C"), "postgresql"), nullable=False
        ),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["dandiset_id"],
            ["dandisets.id"],
            name=op.f("fk_search_words_dandiset_id_dandisets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("dandiset_id", "word", name=op.f("pk_search_words")),
    )
    op.create_index("ix_search_words_word_dandiset", "search_words", ["word", "dandiset_id"])
    op.create_table(
        "search_facets",
        sa.Column("dandiset_id", sa.Integer(), nullable=False),
        sa.Column("facet", sa.String(length=16), nullable=False),
        sa.Column(
            "value",
            sa.String().with_variant(sa.String(collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["dandiset_id"],
            ["dandisets.id"],
            name=op.f("fk_search_facets_dandiset_id_dandisets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("dandiset_id", "facet", "value", name=op.f("pk_search_facets")),
    )
    # dandiset_id last: facet counts over a set of matched dandisets read only this index.
    op.create_index(
        "ix_search_facets_facet_value", "search_facets", ["facet", "value", "dandiset_id"]
    )


def upgrade() -> None:
    _shared_tables()
    if op.get_bind().dialect.name == "postgresql":
        _pg_upgrade()
    else:
        _sqlite_upgrade()


_PG_DROP = [
    "DROP TRIGGER IF EXISTS np_search_version_write ON versions",
    "DROP TRIGGER IF EXISTS np_search_version_delete ON versions",
    "DROP TRIGGER IF EXISTS np_search_members_added ON version_assets",
    "DROP TRIGGER IF EXISTS np_search_members_removed ON version_assets",
    "DROP FUNCTION IF EXISTS np_search_version()",
    "DROP FUNCTION IF EXISTS np_search_members_added()",
    "DROP FUNCTION IF EXISTS np_search_members_removed()",
    "DROP TABLE IF EXISTS search_assets",
    "DROP TABLE IF EXISTS search_dandisets",
    "DROP FUNCTION IF EXISTS np_search_asset_document(text, jsonb)",
    "DROP FUNCTION IF EXISTS np_search_document(integer, text, jsonb, jsonb)",
    "DROP FUNCTION IF EXISTS np_search_description(jsonb)",
    "DROP FUNCTION IF EXISTS np_search_facets(jsonb)",
    "DROP FUNCTION IF EXISTS np_search_strings(jsonb)",
    "DROP FUNCTION IF EXISTS np_search_text(text)",
]


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in _PG_DROP:
            op.execute(statement)
    else:
        for name in _sqlite_triggers():
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS search_asset_fts")
        op.execute("DROP TABLE IF EXISTS search_dandiset_fts")
    op.drop_table("search_facets")
    op.drop_table("search_words")
