"""records.version: a per-record counter that every write increments (the ETag's basis)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 14:45:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing rows start at 1: their ETags change once (the ETag now hashes the version),
    # so a client holding an older ETag gets 412 and reads the record again.
    with op.batch_alter_table("records") as batch:
        batch.add_column(
            sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("records") as batch:
        batch.drop_column("version")
