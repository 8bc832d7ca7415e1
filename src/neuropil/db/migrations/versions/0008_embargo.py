"""embargo: reviewer grants and review links, claims on embargoed blobs

``review_grants`` gives a reviewer read access to an embargoed dandiset: a named account,
or a review link (the sha256 of a bearer token, and the account that stands for it).
``blob_claims`` records that a dandiset's owner uploaded the bytes of an embargoed blob they
could not see, so the dandiset may use that blob (deduplication without telling anyone that
the blob exists). See ``docs/design/embargo.md``.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-12
"""

import sqlalchemy as sa
from alembic import op

import neuropil.db.types

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "review_grants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dandiset_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=True),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("expires", neuropil.db.types.UTCDateTime(), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created", neuropil.db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["dandiset_id"],
            ["dandisets.id"],
            name=op.f("fk_review_grants_dandiset_id_dandisets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_review_grants_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_review_grants_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_grants")),
        sa.UniqueConstraint(
            "dandiset_id", "user_id", name=op.f("uq_review_grants_dandiset_id_user_id")
        ),
        sa.UniqueConstraint("token_hash", name=op.f("uq_review_grants_token_hash")),
    )
    with op.batch_alter_table("review_grants", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_review_grants_dandiset_id"), ["dandiset_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_review_grants_user_id"), ["user_id"], unique=False)

    op.create_table(
        "blob_claims",
        sa.Column("blob_id", sa.String(length=36), nullable=False),
        sa.Column("dandiset_id", sa.Integer(), nullable=False),
        sa.Column("created", neuropil.db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["blob_id"],
            ["asset_blobs.blob_id"],
            name=op.f("fk_blob_claims_blob_id_asset_blobs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["dandiset_id"],
            ["dandisets.id"],
            name=op.f("fk_blob_claims_dandiset_id_dandisets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("blob_id", "dandiset_id", name=op.f("pk_blob_claims")),
    )
    with op.batch_alter_table("blob_claims", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_blob_claims_dandiset_id"), ["dandiset_id"], unique=False
        )


def downgrade() -> None:
    op.drop_table("blob_claims")
    op.drop_table("review_grants")
