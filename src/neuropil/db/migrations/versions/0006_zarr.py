"""zarr archives and their published snapshots, with snapshot immutability triggers

A live Zarr (``snapshot_of`` NULL) changes in place; its files are the blob store's listing
under ``zarr/<zarr_id>/``. Publishing pins each Zarr asset to a snapshot: a
``zarr_archives`` row with ``snapshot_of`` set plus one ``zarr_snapshot_files`` row per key.
A snapshot is written with status ``Ingesting`` and sealed by setting it ``Complete``; from
then on the triggers below refuse, on SQLite and PostgreSQL alike:

- UPDATE or DELETE of a sealed snapshot's ``zarr_archives`` row;
- INSERT, UPDATE or DELETE of the ``zarr_snapshot_files`` rows of a sealed snapshot.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-12
"""

import sqlalchemy as sa
from alembic import op

import neuropil.db.types

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

#: A ``zarr_archives`` row ``z`` that is a sealed snapshot.
SEALED = "{z}.snapshot_of IS NOT NULL AND {z}.status = 'Complete'"
#: The snapshot of a ``zarr_snapshot_files`` row ``f`` is sealed.
FILE_SEALED = (
    "EXISTS (SELECT 1 FROM zarr_archives z WHERE z.zarr_id = {f}.zarr_id AND "
    + SEALED.format(z="z")
    + ")"
)
SNAPSHOT_CHANGE = "neuropil: a published Zarr snapshot is immutable"

SQLITE = [
    f"""CREATE TRIGGER np_zarr_snapshot_update BEFORE UPDATE ON zarr_archives
    FOR EACH ROW WHEN {SEALED.format(z="OLD")}
    BEGIN SELECT RAISE(ABORT, '{SNAPSHOT_CHANGE}'); END""",
    f"""CREATE TRIGGER np_zarr_snapshot_delete BEFORE DELETE ON zarr_archives
    FOR EACH ROW WHEN {SEALED.format(z="OLD")}
    BEGIN SELECT RAISE(ABORT, '{SNAPSHOT_CHANGE}'); END""",
    *(
        f"""CREATE TRIGGER np_zarr_snapshot_files_{op_.lower()} BEFORE {op_} ON zarr_snapshot_files
        FOR EACH ROW WHEN {" OR ".join(FILE_SEALED.format(f=r) for r in rows)}
        BEGIN SELECT RAISE(ABORT, '{SNAPSHOT_CHANGE}'); END"""
        for op_, rows in (("INSERT", ("NEW",)), ("UPDATE", ("OLD", "NEW")), ("DELETE", ("OLD",)))
    ),
]
SQLITE_TRIGGERS = [
    "np_zarr_snapshot_update",
    "np_zarr_snapshot_delete",
    "np_zarr_snapshot_files_insert",
    "np_zarr_snapshot_files_update",
    "np_zarr_snapshot_files_delete",
]

POSTGRES = [
    f"""CREATE FUNCTION np_guard_zarr_snapshots() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF {SEALED.format(z="OLD")} THEN
            RAISE EXCEPTION '{SNAPSHOT_CHANGE}' USING ERRCODE = 'restrict_violation';
        END IF;
        IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
        RETURN NEW;
    END $$""",
    f"""CREATE FUNCTION np_guard_zarr_snapshot_files() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF (TG_OP <> 'INSERT' AND {FILE_SEALED.format(f="OLD")})
           OR (TG_OP <> 'DELETE' AND {FILE_SEALED.format(f="NEW")}) THEN
            RAISE EXCEPTION '{SNAPSHOT_CHANGE}' USING ERRCODE = 'restrict_violation';
        END IF;
        IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
        RETURN NEW;
    END $$""",
    """CREATE TRIGGER np_zarr_snapshots_guard BEFORE UPDATE OR DELETE ON zarr_archives
    FOR EACH ROW EXECUTE FUNCTION np_guard_zarr_snapshots()""",
    """CREATE TRIGGER np_zarr_snapshot_files_guard
    BEFORE INSERT OR UPDATE OR DELETE ON zarr_snapshot_files
    FOR EACH ROW EXECUTE FUNCTION np_guard_zarr_snapshot_files()""",
    # As in 0005: fired in every session mode, replica included.
    "ALTER TABLE zarr_archives ENABLE ALWAYS TRIGGER np_zarr_snapshots_guard",
    "ALTER TABLE zarr_snapshot_files ENABLE ALWAYS TRIGGER np_zarr_snapshot_files_guard",
]


def upgrade() -> None:
    binary_text = sa.String().with_variant(sa.String(collation="C"), "postgresql")
    op.create_table(
        "zarr_archives",
        sa.Column("zarr_id", sa.String(length=36), nullable=False),
        sa.Column("dandiset_id", sa.Integer(), nullable=False),
        sa.Column("name", binary_text, nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "Pending",
                "Uploaded",
                "Ingesting",
                "Complete",
                name="zarrstatus",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("checksum", sa.String(length=80), nullable=True),
        sa.Column("file_count", sa.BigInteger(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("snapshot_of", sa.String(length=36), nullable=True),
        sa.Column("created", neuropil.db.types.UTCDateTime(), nullable=False),
        sa.Column("modified", neuropil.db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["dandiset_id"],
            ["dandisets.id"],
            name=op.f("fk_zarr_archives_dandiset_id_dandisets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("zarr_id", name=op.f("pk_zarr_archives")),
    )
    op.create_index(
        op.f("ix_zarr_archives_dandiset_id"), "zarr_archives", ["dandiset_id"], unique=False
    )
    op.create_index(
        op.f("ix_zarr_archives_snapshot_of"), "zarr_archives", ["snapshot_of"], unique=False
    )
    op.create_index(
        "uq_zarr_archives_dandiset_name",
        "zarr_archives",
        ["dandiset_id", "name"],
        unique=True,
        sqlite_where=sa.text("snapshot_of IS NULL"),
        postgresql_where=sa.text("snapshot_of IS NULL"),
    )
    op.create_table(
        "zarr_snapshot_files",
        sa.Column("zarr_id", sa.String(length=36), nullable=False),
        sa.Column("key", binary_text, nullable=False),
        sa.Column("md5", sa.String(length=32), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["zarr_id"],
            ["zarr_archives.zarr_id"],
            name=op.f("fk_zarr_snapshot_files_zarr_id_zarr_archives"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("zarr_id", "key", name=op.f("pk_zarr_snapshot_files")),
    )
    for statement in POSTGRES if op.get_bind().dialect.name == "postgresql" else SQLITE:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS np_zarr_snapshot_files_guard ON zarr_snapshot_files")
        op.execute("DROP TRIGGER IF EXISTS np_zarr_snapshots_guard ON zarr_archives")
        op.execute("DROP FUNCTION IF EXISTS np_guard_zarr_snapshot_files()")
        op.execute("DROP FUNCTION IF EXISTS np_guard_zarr_snapshots()")
    else:
        for trigger in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    op.drop_table("zarr_snapshot_files")
    op.drop_index("uq_zarr_archives_dandiset_name", table_name="zarr_archives")
    op.drop_index(op.f("ix_zarr_archives_snapshot_of"), table_name="zarr_archives")
    op.drop_index(op.f("ix_zarr_archives_dandiset_id"), table_name="zarr_archives")
    op.drop_table("zarr_archives")
