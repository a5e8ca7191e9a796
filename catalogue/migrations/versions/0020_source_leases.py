"""source_leases: one harvest lease per source (holder, heartbeat, expiry)

Revision ID: 0020_source_leases
Revises: 0010_search_state
Create Date: 2026-11-26 00:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0020_source_leases"
down_revision = "0010_search_state"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "source_leases",
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=True),
        sa.Column("host", sa.String(length=255), nullable=True),
        sa.Column("pid", sa.Integer(), nullable=True),
        sa.Column("process_start", sa.String(length=32), nullable=True),
        sa.Column("run_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("purpose", sa.String(length=32), nullable=True),
        sa.Column("claimed_at", sa.DateTime(), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(), nullable=True),
        sa.Column("expires_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("source"),
    )


def downgrade() -> None:
    op.drop_table("source_leases")
