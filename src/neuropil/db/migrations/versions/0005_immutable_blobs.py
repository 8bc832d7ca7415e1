"""immutable blobs: blob identity, published blobs and dandisets are guarded by triggers

Migration 0003 made published versions and assets immutable; these triggers close what it
left open, on SQLite and PostgreSQL alike:

- UPDATE of a blob's identity (``blob_id``, ``key``, ``etag``, ``size``) is refused for every
  blob: a blob *is* its bytes, so changing them means a new blob. ``sha256`` may be filled
  in once (the hashing job) and then never changes.
- DELETE of a blob that a published asset references is refused. With foreign keys on,
  the reference already stops it; these triggers also hold with them off (SQLite's
  ``PRAGMA foreign_keys=OFF``, PostgreSQL's ``session_replication_role = replica``).
- DELETE of a dandiset with a published version, and changing such a dandiset's id, are
  refused (with foreign keys off, no cascade would reach the versions' own triggers).

On PostgreSQL the new triggers, and those of 0003, are ``ENABLE ALWAYS``: ordinary triggers
are skipped in ``replica`` mode, which is exactly how one would switch foreign keys off.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-10
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

#: A blob row ``b`` that a published asset references.
PUBLISHED_BLOB = "EXISTS (SELECT 1 FROM assets a WHERE a.blob_id = {b}.blob_id AND a.published)"
#: A dandiset row ``d`` with a published version.
PUBLISHED_DANDISET = (
    "EXISTS (SELECT 1 FROM versions v WHERE v.dandiset_id = {d}.id AND v.version <> 'draft')"
)
BLOB_IDENTITY_CHANGED = (
    "NEW.blob_id IS NOT OLD.blob_id OR NEW.key IS NOT OLD.key OR NEW.etag IS NOT OLD.etag "
    "OR NEW.size IS NOT OLD.size OR (OLD.sha256 IS NOT NULL AND NEW.sha256 IS NOT OLD.sha256)"
)

BLOB_IDENTITY = "neuropil: the identity of a blob (id, key, etag, size, sha256) is immutable"
PUBLISHED_BLOB_DELETE = "neuropil: a blob of a published asset cannot be deleted"
PUBLISHED_DANDISET_CHANGE = "neuropil: a dandiset with a published version cannot be deleted"

SQLITE = [
    f"""CREATE TRIGGER np_asset_blobs_identity BEFORE UPDATE ON asset_blobs
    FOR EACH ROW WHEN {BLOB_IDENTITY_CHANGED}
    BEGIN SELECT RAISE(ABORT, '{BLOB_IDENTITY}'); END""",
    f"""CREATE TRIGGER np_asset_blobs_published_delete BEFORE DELETE ON asset_blobs
    FOR EACH ROW WHEN {PUBLISHED_BLOB.format(b="OLD")}
    BEGIN SELECT RAISE(ABORT, '{PUBLISHED_BLOB_DELETE}'); END""",
    f"""CREATE TRIGGER np_dandisets_published_delete BEFORE DELETE ON dandisets
    FOR EACH ROW WHEN {PUBLISHED_DANDISET.format(d="OLD")}
    BEGIN SELECT RAISE(ABORT, '{PUBLISHED_DANDISET_CHANGE}'); END""",
    f"""CREATE TRIGGER np_dandisets_published_renumber BEFORE UPDATE OF id ON dandisets
    FOR EACH ROW WHEN NEW.id IS NOT OLD.id AND {PUBLISHED_DANDISET.format(d="OLD")}
    BEGIN SELECT RAISE(ABORT, '{PUBLISHED_DANDISET_CHANGE}'); END""",
]

# PostgreSQL spells "IS NOT" between values as IS DISTINCT FROM.
_PG_CHANGED = BLOB_IDENTITY_CHANGED.replace("IS NOT OLD", "IS DISTINCT FROM OLD")

POSTGRES = [
    """CREATE FUNCTION np_refuse(message text) RETURNS void LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '%', message USING ERRCODE = 'restrict_violation';
    END $$""",
    f"""CREATE FUNCTION np_guard_asset_blobs() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'UPDATE' AND ({_PG_CHANGED}) THEN
            PERFORM np_refuse('{BLOB_IDENTITY}');
        END IF;
        IF TG_OP = 'DELETE' AND {PUBLISHED_BLOB.format(b="OLD")} THEN
            PERFORM np_refuse('{PUBLISHED_BLOB_DELETE}');
        END IF;
        IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
        RETURN NEW;
    END $$""",
    f"""CREATE FUNCTION np_guard_dandisets() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF (TG_OP = 'DELETE' OR NEW.id IS DISTINCT FROM OLD.id)
           AND {PUBLISHED_DANDISET.format(d="OLD")} THEN
            PERFORM np_refuse('{PUBLISHED_DANDISET_CHANGE}');
        END IF;
        IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
        RETURN NEW;
    END $$""",
    """CREATE TRIGGER np_asset_blobs_guard BEFORE UPDATE OR DELETE ON asset_blobs
    FOR EACH ROW EXECUTE FUNCTION np_guard_asset_blobs()""",
    """CREATE TRIGGER np_dandisets_guard BEFORE UPDATE OF id OR DELETE ON dandisets
    FOR EACH ROW EXECUTE FUNCTION np_guard_dandisets()""",
]

#: (trigger, table) of this migration and 0003 that PostgreSQL fires in every session mode.
PG_ALWAYS = [
    ("np_asset_blobs_guard", "asset_blobs"),
    ("np_dandisets_guard", "dandisets"),
    ("np_versions_sealed_update", "versions"),
    ("np_versions_published_delete", "versions"),
    ("np_assets_published_update", "assets"),
    ("np_assets_published_delete", "assets"),
    ("np_version_assets_sealed", "version_assets"),
    ("np_asset_paths_sealed", "asset_paths"),
]
SQLITE_TRIGGERS = [
    ("np_asset_blobs_identity", "asset_blobs"),
    ("np_asset_blobs_published_delete", "asset_blobs"),
    ("np_dandisets_published_delete", "dandisets"),
    ("np_dandisets_published_renumber", "dandisets"),
]


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in POSTGRES:
            op.execute(statement)
        for trigger, table in PG_ALWAYS:
            op.execute(f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {trigger}")
    else:
        for statement in SQLITE:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for trigger, table in PG_ALWAYS[2:]:  # 0003's triggers: back to the default mode
            op.execute(f"ALTER TABLE {table} ENABLE TRIGGER {trigger}")
        op.execute("DROP TRIGGER IF EXISTS np_asset_blobs_guard ON asset_blobs")
        op.execute("DROP TRIGGER IF EXISTS np_dandisets_guard ON dandisets")
        op.execute("DROP FUNCTION IF EXISTS np_guard_asset_blobs()")
        op.execute("DROP FUNCTION IF EXISTS np_guard_dandisets()")
        op.execute("DROP FUNCTION IF EXISTS np_refuse(text)")
    else:
        for trigger, _table in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
