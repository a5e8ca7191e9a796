"""The relational store: the source of truth and the only code that writes its tables.

Every change to a record appends to the change log in the same transaction, so the
search index (a projection that follows the log) can never miss an update.
"""

from __future__ import annotations

import enum
import hashlib
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import create_engine, delete, event, func, insert, select, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from catalogue.model import Record, content_hash, record_id
from catalogue.tables import (
    ChangeRow,
    HarvestErrorRow,
    HarvestRunRow,
    RawPayloadRow,
    RecordRow,
    SourceRow,
)

# Arbitrary constant naming the PostgreSQL advisory lock that orders change-log appends.
_CHANGE_LOG_LOCK = 0x6361745F6C6F67


def utcnow() -> datetime:
    """Naive UTC, to the second: the store's (and OAI-PMH's) granularity."""
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


class Outcome(enum.StrEnum):
    ADDED = "added"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    DELETED = "deleted"
    FAILED = "failed"


class StoreError(Exception):
    """Base of the store's own errors."""


class SourceExists(StoreError):
    pass


class SourceNotFound(StoreError):
    pass


@dataclass
class IncomingRecord:
    """A mapped record (or a deletion) on its way into the store."""

    source_id: str
    metadata: dict[str, Any] | None
    sets: list[str] = field(default_factory=list)
    source_datestamp: datetime | None = None
    deleted: bool = False
    raw: bytes | None = None
    raw_format: str | None = None


@dataclass
class Source:
    key: str
    type: str
    url: str
    metadata_prefix: str | None
    sets: list[str]
    config: dict[str, Any]
    enabled: bool
    created_at: datetime
    harvest_from: datetime | None
    granularity: str | None


@dataclass
class RunCounts:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    failed: int = 0
    warnings: int = 0

    def add(self, outcome: Outcome) -> None:
        setattr(self, outcome.value, getattr(self, outcome.value) + 1)

    @property
    def seen(self) -> int:
        return self.added + self.updated + self.unchanged + self.deleted + self.failed


@dataclass
class HarvestRun:
    id: int
    source: str
    mode: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    from_date: datetime | None
    response_date: datetime | None
    counts: RunCounts
    message: str | None


@dataclass(frozen=True)
class RunError:
    source_id: str | None
    stage: str
    reason: str
    severity: str = "error"


@dataclass(frozen=True)
class Change:
    seq: int
    record_id: str
    op: str


def create_store_engine(url: str, **kwargs: Any) -> Engine:
    """An engine configured for the catalogue: SQLite gets WAL, a busy timeout and FKs."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


class Store:
    """Records, sources, change log and harvest runs over one SQLAlchemy engine."""

    def __init__(self, url_or_engine: str | Engine) -> None:
        if isinstance(url_or_engine, Engine):
            self.engine = url_or_engine
        else:
            self.engine = create_store_engine(url_or_engine)
        self._session = sessionmaker(self.engine, expire_on_commit=False)
        self.is_postgres = self.engine.dialect.name == "postgresql"

    # -- schema ---------------------------------------------------------------

    def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision (creates it on a new database)."""
        from catalogue.migrate import upgrade

        upgrade(self.engine)

    def dispose(self) -> None:
        self.engine.dispose()

    # -- sources --------------------------------------------------------------

    def add_source(
        self,
        key: str,
        type: str,
        url: str,
        metadata_prefix: str | None = None,
        sets: Sequence[str] = (),
        config: dict[str, Any] | None = None,
    ) -> Source:
        row = SourceRow(
            key=key,
            type=type,
            url=url,
            metadata_prefix=metadata_prefix,
            sets=list(sets),
            config=config or {},
            enabled=True,
            created_at=utcnow(),
        )
        try:
            with self._session.begin() as s:
                s.add(row)
        except IntegrityError as exc:
            raise SourceExists(f"source {key!r} already exists") from exc
        return _source(row)

    def get_source(self, key: str) -> Source | None:
        with self._session() as s:
            row = s.get(SourceRow, key)
            return _source(row) if row else None

    def list_sources(self) -> list[Source]:
        with self._session() as s:
            return [_source(r) for r in s.scalars(select(SourceRow).order_by(SourceRow.key))]

    def update_source(self, key: str, **values: Any) -> Source:
        with self._session.begin() as s:
            row = s.get(SourceRow, key)
            if row is None:
                raise SourceNotFound(key)
            for name, value in values.items():
                setattr(row, name, value)
            return _source(row)

    def remove_source(self, key: str) -> int:
        """Drop a source; its records become tombstones (harvesters downstream must hear of it)."""
        with self._session.begin() as s:
            if s.get(SourceRow, key) is None:
                raise SourceNotFound(key)
            ids = list(
                s.scalars(
                    select(RecordRow.id).where(
                        RecordRow.source == key, RecordRow.deleted.is_(False)
                    )
                )
            )
            now = utcnow()
            if ids:
                s.execute(
                    update(RecordRow)
                    .where(RecordRow.id.in_(ids))
                    .values(deleted=True, datestamp=now)
                )
                self._log_changes(s, [(i, "delete") for i in ids], now)
            s.execute(delete(SourceRow).where(SourceRow.key == key))
            return len(ids)

    # -- records --------------------------------------------------------------

    def upsert_page(
        self, source: str, items: Iterable[IncomingRecord], *, actor: str | None = None
    ) -> list[tuple[str, Outcome]]:
        """Store one page in one transaction; returns (record id, outcome) per distinct item.

        Idempotent: an item whose content (metadata, sets, deletion, raw bytes) equals what
        is stored changes nothing and logs nothing.
        """
        latest: dict[str, IncomingRecord] = {}
        for item in items:
            latest[item.source_id] = item  # the last copy of a repeated record wins
        if not latest:
            return []
        now = utcnow()
        by_id = {record_id(source, sid): item for sid, item in latest.items()}
        results: list[tuple[str, Outcome]] = []
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        raws: list[dict[str, Any]] = []
        changes: list[tuple[str, str]] = []
        with self._session.begin() as s:
            existing = {
                row.id: row
                for row in s.execute(
                    select(RecordRow.id, RecordRow.content_hash, RecordRow.deleted).where(
                        RecordRow.id.in_(list(by_id))
                    )
                )
            }
            for rid, item in by_id.items():
                old = existing.get(rid)
                if item.deleted:
                    if old is None or old.deleted:
                        results.append((rid, Outcome.UNCHANGED))
                        continue
                    updates.append(
                        {
                            "id": rid,
                            "deleted": True,
                            "datestamp": now,
                            "harvested_at": now,
                            "source_datestamp": item.source_datestamp,
                            "content_hash": "deleted:" + old.content_hash[:56],
                        }
                    )
                    changes.append((rid, "delete"))
                    results.append((rid, Outcome.DELETED))
                    continue
                digest = content_hash(item.metadata or {}, item.sets, False, item.raw)
                if old is not None and old.content_hash == digest:
                    results.append((rid, Outcome.UNCHANGED))
                    continue
                values = {
                    "id": rid,
                    "doi": _doi_of(item.metadata or {}),
                    "datestamp": now,
                    "harvested_at": now,
                    "source_datestamp": item.source_datestamp,
                    "deleted": False,
                    "sets": sorted(set(item.sets)),
                    "meta": item.metadata,
                    "content_hash": digest,
                    "original_format": item.raw_format,
                    "updated_by": actor,
                }
                if old is None:
                    values.update(
                        source=source, source_id=item.source_id, created_at=now, created_by=actor
                    )
                    inserts.append(values)
                    results.append((rid, Outcome.ADDED))
                else:
                    updates.append(values)
                    results.append((rid, Outcome.UPDATED))
                changes.append((rid, "upsert"))
                if item.raw is not None:
                    raws.append(_raw_row(rid, item.raw_format or "unknown", item.raw))
            if inserts:
                s.execute(insert(RecordRow), inserts)
            if updates:
                s.execute(update(RecordRow), updates)
            if raws:
                ids = [r["record_id"] for r in raws]
                s.execute(delete(RawPayloadRow).where(RawPayloadRow.record_id.in_(ids)))
                s.execute(insert(RawPayloadRow), raws)
            if changes:
                self._log_changes(s, changes, now)
        return results

    def mark_deleted(self, source: str, source_ids: Iterable[str]) -> int:
        """Tombstone records of ``source`` by their source ids; returns how many changed."""
        page = [IncomingRecord(source_id=sid, metadata=None, deleted=True) for sid in source_ids]
        return sum(1 for _, o in self.upsert_page(source, page) if o is Outcome.DELETED)

    def _log_changes(self, s: Session, changes: list[tuple[str, str]], now: datetime) -> None:
        if self.is_postgres:
            # Sequence values are handed out at insert time but become visible at commit;
            # holding this lock until commit makes commit order equal seq order, so an
            # indexer that has applied seq N can never later see a smaller seq appear.
            s.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _CHANGE_LOG_LOCK})
        s.execute(
            insert(ChangeRow),
            [{"record_id": rid, "op": op, "changed_at": now} for rid, op in changes],
        )

    def get_record(self, rid: str) -> Record | None:
        with self._session() as s:
            row = s.get(RecordRow, rid)
            return _record(row) if row else None

    def get_records(self, ids: Iterable[str]) -> dict[str, Record]:
        ids = list(ids)
        out: dict[str, Record] = {}
        with self._session() as s:
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                for row in s.scalars(select(RecordRow).where(RecordRow.id.in_(chunk))):
                    out[row.id] = _record(row)
        return out

    def iter_records(self, *, include_deleted: bool = False, batch: int = 1000) -> Iterator[Record]:
        """All records in id order, fetched in keyset batches so memory stays flat."""
        last = ""
        while True:
            with self._session() as s:
                stmt = select(RecordRow).where(RecordRow.id > last)
                if not include_deleted:
                    stmt = stmt.where(RecordRow.deleted.is_(False))
                rows = list(s.scalars(stmt.order_by(RecordRow.id).limit(batch)))
            if not rows:
                return
            for row in rows:
                yield _record(row)
            last = rows[-1].id

    def count_records(self, source: str | None = None, *, deleted: bool = False) -> int:
        with self._session() as s:
            stmt = select(func.count()).select_from(RecordRow).where(RecordRow.deleted.is_(deleted))
            if source is not None:
                stmt = stmt.where(RecordRow.source == source)
            return s.scalar(stmt) or 0

    def get_raw(self, rid: str) -> tuple[str, bytes] | None:
        with self._session() as s:
            row = s.get(RawPayloadRow, rid)
            return (row.format, zlib.decompress(row.content)) if row else None

    # -- change log -----------------------------------------------------------

    def changes_since(self, seq: int, limit: int = 1000) -> list[Change]:
        with self._session() as s:
            rows = s.execute(
                select(ChangeRow.seq, ChangeRow.record_id, ChangeRow.op)
                .where(ChangeRow.seq > seq)
                .order_by(ChangeRow.seq)
                .limit(limit)
            )
            return [Change(r.seq, r.record_id, r.op) for r in rows]

    def last_seq(self) -> int:
        with self._session() as s:
            return s.scalar(select(func.max(ChangeRow.seq))) or 0

    # -- harvest runs ---------------------------------------------------------

    def start_run(self, source: str, mode: str, from_date: datetime | None = None) -> int:
        with self._session.begin() as s:
            row = HarvestRunRow(
                source=source, mode=mode, status="running", started_at=utcnow(), from_date=from_date
            )
            s.add(row)
            s.flush()
            return row.id

    def add_run_errors(self, run_id: int, errors: Iterable[RunError]) -> None:
        rows = [
            {
                "run_id": run_id,
                "source_id": e.source_id,
                "stage": e.stage,
                "severity": e.severity,
                "reason": e.reason[:4000],
            }
            for e in errors
        ]
        if rows:
            with self._session.begin() as s:
                s.execute(insert(HarvestErrorRow), rows)

    def finish_run(
        self,
        run_id: int,
        status: str,
        counts: RunCounts,
        *,
        response_date: datetime | None = None,
        message: str | None = None,
    ) -> HarvestRun:
        with self._session.begin() as s:
            row = s.get(HarvestRunRow, run_id)
            row.status = status
            row.finished_at = utcnow()
            row.response_date = response_date
            row.message = message
            for name in ("added", "updated", "unchanged", "deleted", "failed", "warnings"):
                setattr(row, name, getattr(counts, name))
            return _run(row)

    def get_run(self, run_id: int) -> HarvestRun | None:
        with self._session() as s:
            row = s.get(HarvestRunRow, run_id)
            return _run(row) if row else None

    def list_runs(self, source: str | None = None, limit: int = 20) -> list[HarvestRun]:
        with self._session() as s:
            stmt = select(HarvestRunRow).order_by(HarvestRunRow.id.desc()).limit(limit)
            if source:
                stmt = stmt.where(HarvestRunRow.source == source)
            return [_run(r) for r in s.scalars(stmt)]

    def run_errors(self, run_id: int) -> list[RunError]:
        with self._session() as s:
            rows = s.scalars(
                select(HarvestErrorRow)
                .where(HarvestErrorRow.run_id == run_id)
                .order_by(HarvestErrorRow.id)
            )
            return [RunError(r.source_id, r.stage, r.reason, r.severity) for r in rows]

    def last_successful_run(self, source: str) -> HarvestRun | None:
        with self._session() as s:
            row = s.scalars(
                select(HarvestRunRow)
                .where(HarvestRunRow.source == source, HarvestRunRow.status == "succeeded")
                .order_by(HarvestRunRow.id.desc())
                .limit(1)
            ).first()
            return _run(row) if row else None


def _raw_row(rid: str, fmt: str, raw: bytes) -> dict[str, Any]:
    return {
        "record_id": rid,
        "format": fmt,
        "content": zlib.compress(raw, 6),
        "sha256": hashlib.sha256(raw).hexdigest(),
    }


def _doi_of(metadata: dict[str, Any]) -> str | None:
    for ident in metadata.get("identifiers", ()):
        if ident.get("identifierType") == "DOI":
            return ident["identifier"].lower()
    return None


def _source(row: SourceRow) -> Source:
    return Source(
        key=row.key,
        type=row.type,
        url=row.url,
        metadata_prefix=row.metadata_prefix,
        sets=list(row.sets or []),
        config=dict(row.config or {}),
        enabled=row.enabled,
        created_at=row.created_at,
        harvest_from=row.harvest_from,
        granularity=row.granularity,
    )


def _record(row: RecordRow) -> Record:
    return Record(
        id=row.id,
        source=row.source,
        source_id=row.source_id,
        metadata=row.meta or {},
        sets=list(row.sets or []),
        deleted=row.deleted,
        datestamp=row.datestamp,
        source_datestamp=row.source_datestamp,
        harvested_at=row.harvested_at,
        created_at=row.created_at,
        original_format=row.original_format,
    )


def _run(row: HarvestRunRow) -> HarvestRun:
    return HarvestRun(
        id=row.id,
        source=row.source,
        mode=row.mode,
        status=row.status,
        started_at=row.started_at,
        finished_at=row.finished_at,
        from_date=row.from_date,
        response_date=row.response_date,
        counts=RunCounts(
            row.added, row.updated, row.unchanged, row.deleted, row.failed, row.warnings
        ),
        message=row.message,
    )
