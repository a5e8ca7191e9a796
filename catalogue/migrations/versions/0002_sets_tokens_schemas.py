"""record sets, API tokens, schema registry

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 13:45:00
"""

import json

import sqlalchemy as sa
from alembic import op

from catalogue.model import paged_set_specs

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SeqType = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("records") as batch:
        batch.add_column(sa.Column("schema_id", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("schema_version", sa.Integer(), nullable=True))
    record_sets = op.create_table(
        "record_sets",
        sa.Column("record_id", sa.String(length=64), nullable=False),
        sa.Column("spec", sa.String(length=200), nullable=False),
        sa.Column("datestamp", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["record_id"], ["records.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("record_id", "spec"),
        sqlite_with_rowid=False,
    )
    op.create_index(
        "ix_record_sets_spec_datestamp_id",
        "record_sets",
        ["spec", "datestamp", "record_id"],
        unique=False,
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", SeqType, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=True),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.Column("last_used_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_table(
        "schemas",
        sa.Column("schema_id", sa.String(length=100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("mime_type", sa.String(length=100), nullable=False),
        sa.Column("label", sa.String(length=500), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("schema_id", "version"),
    )
    _backfill_record_sets(record_sets)


def _backfill_record_sets(record_sets: sa.Table) -> None:
    """Existing records get their set rows; batched so a large store never sits in memory."""
    conn = op.get_bind()
    records = sa.table(
        "records",
        sa.column("id", sa.String),
        sa.column("datestamp", sa.DateTime),
        sa.column("sets", sa.JSON),
        sa.column("metadata", sa.JSON),
    )
    last = ""
    while True:
        rows = conn.execute(
            sa.select(records.c.id, records.c.datestamp, records.c.sets, records.c.metadata)
            .where(records.c.id > last)
            .order_by(records.c.id)
            .limit(5000)
        ).all()
        if not rows:
            return
        batch = []
        for rid, datestamp, sets, metadata in rows:
            sets = json.loads(sets) if isinstance(sets, str) else sets or []
            metadata = json.loads(metadata) if isinstance(metadata, str) else metadata or {}
            batch.extend(
                {"record_id": rid, "spec": spec, "datestamp": datestamp}
                for spec in paged_set_specs(sets, metadata)
            )
        if batch:
            conn.execute(record_sets.insert(), batch)
        last = rows[-1][0]


def downgrade() -> None:
    op.drop_table("schemas")
    op.drop_table("api_tokens")
    op.drop_index("ix_record_sets_spec_datestamp_id", table_name="record_sets")
    op.drop_table("record_sets")
    with op.batch_alter_table("records") as batch:
        batch.drop_column("schema_version")
        batch.drop_column("schema_id")
