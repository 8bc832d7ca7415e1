"""signin_failures: failed web sign-ins counted in the database, shared by all processes

One row per (scope, key digest, time slot) with its failure count, incremented atomically
(``INSERT ... ON CONFLICT DO UPDATE``); see ``services/signin_limiter.py``.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "signin_failures",
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("slot", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("scope", "key_hash", "slot", name=op.f("pk_signin_failures")),
    )
    op.create_index(
        "ix_signin_failures_scope_slot", "signin_failures", ["scope", "slot"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_signin_failures_scope_slot", table_name="signin_failures")
    op.drop_table("signin_failures")
