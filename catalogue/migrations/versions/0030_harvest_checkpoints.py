"""harvest_checkpoints: where a source's unfinished run got to

Revision ID: 0030_harvest_checkpoints
Revises: 0020_source_leases
Create Date: 2026-11-26 01:00:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0030_harvest_checkpoints"
down_revision = "0020_source_leases"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "harvest_checkpoints",
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("run_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "state",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("source"),
    )


def downgrade() -> None:
    op.drop_table("harvest_checkpoints")
