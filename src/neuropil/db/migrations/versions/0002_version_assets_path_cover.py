"""covering index for path-ordered listings and globs

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_version_assets_version_path_cover",
        "version_assets",
        ["version_id", "path", "asset_id", "path_lower"],
    )


def downgrade() -> None:
    op.drop_index("ix_version_assets_version_path_cover", table_name="version_assets")
