"""SQLAlchemy table definitions. Only ``catalogue.store`` writes them.

All datetimes are naive UTC (SQLite has no time zones; PostgreSQL gets the same values).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    Unicode,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

JSONType = JSON().with_variant(JSONB(), "postgresql")
# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL needs BIGINT for billions of changes.
SeqType = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    pass


class SourceRow(Base):
    __tablename__ = "sources"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    type: Mapped[str] = mapped_column(String(32))
    url: Mapped[str] = mapped_column(String(2000))
    metadata_prefix: Mapped[str | None] = mapped_column(String(64))
    sets: Mapped[list[str]] = mapped_column(JSONType, default=list)
    config: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    # The source's own clock at the start of the last successful run: where the next
    # incremental run starts (minus an overlap), never our clock.
    harvest_from: Mapped[datetime | None] = mapped_column(DateTime)
    granularity: Mapped[str | None] = mapped_column(String(32))
    # When the scheduler harvests it: a cron expression or "every 6h"; NULL: manual only.
    schedule: Mapped[str | None] = mapped_column(String(100))


class RecordRow(Base):
    __tablename__ = "records"
    __table_args__ = (
        UniqueConstraint("source", "source_id", name="uq_records_source_source_id"),
        # Keyset paging of the OAI-PMH provider walks (datestamp, id).
        Index("ix_records_datestamp_id", "datestamp", "id"),
        Index("ix_records_doi", "doi"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    source: Mapped[str] = mapped_column(String(64), index=True)
    source_id: Mapped[str] = mapped_column(String(1000))
    doi: Mapped[str | None] = mapped_column(String(500))
    # When the record last changed in this catalogue (the OAI-PMH datestamp).
    datestamp: Mapped[datetime] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    harvested_at: Mapped[datetime | None] = mapped_column(DateTime)
    source_datestamp: Mapped[datetime | None] = mapped_column(DateTime)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    sets: Mapped[list[str]] = mapped_column(JSONType, default=list)
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSONType)
    content_hash: Mapped[str] = mapped_column(String(64))
    original_format: Mapped[str | None] = mapped_column(String(64))
    created_by: Mapped[str | None] = mapped_column(String(200))
    updated_by: Mapped[str | None] = mapped_column(String(200))
    # A registered schema (``schemas``) the record's extra metadata also satisfies.
    schema_id: Mapped[str | None] = mapped_column(String(100))
    schema_version: Mapped[int | None] = mapped_column(Integer)
    # Incremented by every write (1 when inserted): ETags hash it, so no two states of a
    # record share an ETag, however quickly content A -> B -> A happens.
    version: Mapped[int] = mapped_column(Integer, server_default=text("1"))


class RecordSetRow(Base):
    """One row per (record, OAI-PMH setSpec).

    The record's datestamp is copied here so that a set-restricted ListRecords pages with
    the same constant-cost keyset walk as an unrestricted one: (spec, datestamp, record_id).
    """

    __tablename__ = "record_sets"
    __table_args__ = (
        Index("ix_record_sets_spec_datestamp_id", "spec", "datestamp", "record_id"),
        # Clustered on its primary key: one B-tree less to maintain per row on SQLite.
        {"sqlite_with_rowid": False},
    )

    record_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("records.id", ondelete="CASCADE"), primary_key=True
    )
    spec: Mapped[str] = mapped_column(String(200), primary_key=True)
    datestamp: Mapped[datetime] = mapped_column(DateTime)


class RawPayloadRow(Base):
    """The payload as the source sent it, zlib-compressed, so mappings can be replayed."""

    __tablename__ = "raw_payloads"

    record_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("records.id", ondelete="CASCADE"), primary_key=True
    )
    format: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))


class ChangeRow(Base):
    """Append-only change log; the indexer follows ``seq``."""

    __tablename__ = "changes"

    seq: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    record_id: Mapped[str] = mapped_column(String(64))
    op: Mapped[str] = mapped_column(String(8))
    changed_at: Mapped[datetime] = mapped_column(DateTime)


class HarvestRunRow(Base):
    __tablename__ = "harvest_runs"

    id: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(64), index=True)
    mode: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    from_date: Mapped[datetime | None] = mapped_column(DateTime)
    response_date: Mapped[datetime | None] = mapped_column(DateTime)
    added: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    deleted: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    warnings: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str | None] = mapped_column(Text)


class HarvestCheckpointRow(Base):
    """Where a source's unfinished run got to: written after every committed page, read by
    the next run to resume there, deleted when a run succeeds (see harvester.checkpoints)."""

    __tablename__ = "harvest_checkpoints"

    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    run_id: Mapped[int] = mapped_column(SeqType)
    state: Mapped[dict[str, Any]] = mapped_column(JSONType)
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class HarvestErrorRow(Base):
    """One row per problem in a run: which record, at which stage, why (ckanext-harvest style)."""

    __tablename__ = "harvest_errors"

    id: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(
        SeqType, ForeignKey("harvest_runs.id", ondelete="CASCADE"), index=True
    )
    source_id: Mapped[str | None] = mapped_column(String(1000))
    stage: Mapped[str] = mapped_column(String(16))
    severity: Mapped[str] = mapped_column(String(8), default="error")
    reason: Mapped[str] = mapped_column(Text)


class ApiTokenRow(Base):
    """A bearer token of the ingest/admin API; only its SHA-256 is kept."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    created_by: Mapped[str | None] = mapped_column(String(200))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime)


class SchemaRow(Base):
    """A registered metadata schema version (metastore2's schema registry)."""

    __tablename__ = "schemas"

    schema_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    type: Mapped[str] = mapped_column(String(16))
    mime_type: Mapped[str] = mapped_column(String(100))
    label: Mapped[str | None] = mapped_column(String(500))
    comment: Mapped[str | None] = mapped_column(Text)
    content: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    created_by: Mapped[str | None] = mapped_column(String(200))


class SearchStateRow(Base):
    """Where a remote search index (Elasticsearch/OpenSearch alias) stands: the change-log seq
    its last commit reached and which indexer holds its writer lease until when."""

    __tablename__ = "search_state"

    index_name: Mapped[str] = mapped_column(String(200), primary_key=True)
    applied_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    holder: Mapped[str | None] = mapped_column(String(200))
    lease_until: Mapped[datetime | None] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class SourceLeaseRow(Base):
    """Who runs a source's harvest now: one row per source, claimed atomically by every run
    (scheduler, admin API, `catalogue harvest`), renewed by its heartbeat.

    ``token`` is NULL while nobody holds it. The holder is named by host, process id and that
    process's start time (so a claimant on the same host sees at once that a killed holder's
    process is gone, even if its pid was reused); across hosts the lease lapses at ``expires_at``.
    """

    __tablename__ = "source_leases"

    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    token: Mapped[str | None] = mapped_column(String(64))
    host: Mapped[str | None] = mapped_column(String(255))
    pid: Mapped[int | None] = mapped_column(Integer)
    process_start: Mapped[str | None] = mapped_column(String(32))
    run_id: Mapped[int | None] = mapped_column(SeqType)
    purpose: Mapped[str | None] = mapped_column(String(32))
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime)
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime)


class SchedulerJobRow(Base):
    """APScheduler 3's SQLAlchemy job store (its own table layout, created here by the
    migrations so that the schema has one owner): one job per scheduled source."""

    __tablename__ = "apscheduler_jobs"

    id: Mapped[str] = mapped_column(Unicode(191), primary_key=True)
    next_run_time: Mapped[float | None] = mapped_column(Float(25), index=True)
    job_state: Mapped[bytes] = mapped_column(LargeBinary)
