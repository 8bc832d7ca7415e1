"""published versions: release notes, stored assets summary, immutability triggers

A published version is inserted with status ``Publishing`` and sealed by the last statement
of the publish transaction (status ``Valid``). The triggers below make the database refuse,
on SQLite and PostgreSQL alike:

- UPDATE of a sealed published version, DELETE of any published version;
- UPDATE or DELETE of an asset row whose ``published`` is true;
- INSERT, UPDATE or DELETE of ``version_assets`` / ``asset_paths`` rows of a sealed version.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

#: A version whose rows may no longer change (SQL over a ``versions`` row alias ``v``).
SEALED = "v.version <> 'draft' AND v.status <> 'Publishing'"
MEMBER_TABLES = ("version_assets", "asset_paths")

SQLITE = [
    """CREATE TRIGGER np_versions_sealed_update BEFORE UPDATE ON versions
    FOR EACH ROW WHEN OLD.version <> 'draft' AND OLD.status <> 'Publishing'
    BEGIN SELECT RAISE(ABORT, 'neuropil: a published version is immutable'); END""",
    """CREATE TRIGGER np_versions_published_delete BEFORE DELETE ON versions
    FOR EACH ROW WHEN OLD.version <> 'draft'
    BEGIN SELECT RAISE(ABORT, 'neuropil: a published version cannot be deleted'); END""",
    """CREATE TRIGGER np_assets_published_update BEFORE UPDATE ON assets
    FOR EACH ROW WHEN OLD.published
    BEGIN SELECT RAISE(ABORT, 'neuropil: a published asset is immutable'); END""",
    """CREATE TRIGGER np_assets_published_delete BEFORE DELETE ON assets
    FOR EACH ROW WHEN OLD.published
    BEGIN SELECT RAISE(ABORT, 'neuropil: a published asset cannot be deleted'); END""",
]
for _table in MEMBER_TABLES:
    for _op, _rows in (("INSERT", ("NEW",)), ("UPDATE", ("OLD", "NEW")), ("DELETE", ("OLD",))):
        _cond = " OR ".join(
            f"EXISTS (SELECT 1 FROM versions v WHERE v.id = {r}.version_id AND {SEALED})"
            for r in _rows
        )
        SQLITE.append(
            f"""CREATE TRIGGER np_{_table}_sealed_{_op.lower()} BEFORE {_op} ON {_table}
            FOR EACH ROW WHEN {_cond}
            BEGIN SELECT RAISE(ABORT, 'neuropil: the assets of a published version are immutable');
            END"""
        )

POSTGRES = [
    """CREATE FUNCTION np_refuse_published() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'neuropil: % of a published row of % is refused', TG_OP, TG_TABLE_NAME
            USING ERRCODE = 'restrict_violation';
    END $$""",
    f"""CREATE FUNCTION np_guard_sealed_members() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF (TG_OP <> 'INSERT' AND EXISTS (
                SELECT 1 FROM versions v WHERE v.id = OLD.version_id AND {SEALED}))
           OR (TG_OP <> 'DELETE' AND EXISTS (
                SELECT 1 FROM versions v WHERE v.id = NEW.version_id AND {SEALED})) THEN
            RAISE EXCEPTION 'neuropil: the assets of a published version are immutable (% on %)',
                TG_OP, TG_TABLE_NAME USING ERRCODE = 'restrict_violation';
        END IF;
        IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
        RETURN NEW;
    END $$""",
    """CREATE TRIGGER np_versions_sealed_update BEFORE UPDATE ON versions FOR EACH ROW
    WHEN (OLD.version <> 'draft' AND OLD.status <> 'Publishing')
    EXECUTE FUNCTION np_refuse_published()""",
    """CREATE TRIGGER np_versions_published_delete BEFORE DELETE ON versions FOR EACH ROW
    WHEN (OLD.version <> 'draft') EXECUTE FUNCTION np_refuse_published()""",
    """CREATE TRIGGER np_assets_published_update BEFORE UPDATE ON assets FOR EACH ROW
    WHEN (OLD.published) EXECUTE FUNCTION np_refuse_published()""",
    """CREATE TRIGGER np_assets_published_delete BEFORE DELETE ON assets FOR EACH ROW
    WHEN (OLD.published) EXECUTE FUNCTION np_refuse_published()""",
    *(
        f"""CREATE TRIGGER np_{t}_sealed BEFORE INSERT OR UPDATE OR DELETE ON {t}
        FOR EACH ROW EXECUTE FUNCTION np_guard_sealed_members()"""
        for t in MEMBER_TABLES
    ),
]


def _trigger_names() -> list[tuple[str, str]]:
    names = [
        ("np_versions_sealed_update", "versions"),
        ("np_versions_published_delete", "versions"),
        ("np_assets_published_update", "assets"),
        ("np_assets_published_delete", "assets"),
    ]
    if op.get_bind().dialect.name == "postgresql":
        return names + [(f"np_{t}_sealed", t) for t in MEMBER_TABLES]
    return names + [
        (f"np_{t}_sealed_{o}", t) for t in MEMBER_TABLES for o in ("insert", "update", "delete")
    ]


def upgrade() -> None:
    with op.batch_alter_table("versions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("release_notes", sa.String(length=5000), server_default="", nullable=False)
        )
        batch_op.add_column(
            sa.Column(
                "assets_summary",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=True,
            )
        )
    with op.batch_alter_table("assets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_assets_status"), ["status"], unique=False)
    # Triggers last. A later SQLite batch migration that rebuilds one of these tables drops
    # its triggers and must create them again.
    for statement in POSTGRES if op.get_bind().dialect.name == "postgresql" else SQLITE:
        op.execute(statement)


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for name, table in _trigger_names():
        op.execute(f"DROP TRIGGER IF EXISTS {name}" + (f" ON {table}" if postgres else ""))
    if postgres:
        op.execute("DROP FUNCTION IF EXISTS np_guard_sealed_members()")
        op.execute("DROP FUNCTION IF EXISTS np_refuse_published()")
    with op.batch_alter_table("assets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assets_status"))
    with op.batch_alter_table("versions", schema=None) as batch_op:
        batch_op.drop_column("assets_summary")
        batch_op.drop_column("release_notes")
