"""search_state: the applied change-log seq and writer lease of a remote search index

Revision ID: 0010_search_state
Revises: 0003
Create Date: 2026-11-26 00:45:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_search_state"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "search_state",
        sa.Column("index_name", sa.String(length=200), nullable=False),
        sa.Column("applied_seq", sa.BigInteger(), nullable=False),
        sa.Column("holder", sa.String(length=200), nullable=True),
        sa.Column("lease_until", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("index_name"),
    )


def downgrade() -> None:
    op.drop_table("search_state")
