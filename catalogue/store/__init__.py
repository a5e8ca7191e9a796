"""The relational store: the source of truth and the only code that writes its tables.

Every change to a record appends to the change log in the same transaction, so the
search index (a projection that follows the log) can never miss an update.
"""

from __future__ import annotations

import enum
import hashlib
import json
import logging
import secrets
import threading
import zlib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    DateTime,
    Integer,
    Table,
    Text,
    bindparam,
    case,
    cast,
    create_engine,
    delete,
    event,
    func,
    insert,
    literal_column,
    or_,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.engine import Connection, Dialect, Engine, Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker
from sqlalchemy.sql.dml import Insert, Update

from catalogue.model import (
    LOCAL_SOURCE,
    ROOT_SETS,
    Record,
    canonical_json,
    content_hash_of,
    paged_set_specs,
    record_id,
    set_specs,
)
from catalogue.tables import (
    ApiTokenRow,
    ChangeRow,
    HarvestErrorRow,
    HarvestRunRow,
    RawPayloadRow,
    RecordRow,
    RecordSetRow,
    SchemaRow,
    SourceRow,
)
from mappings.normalize import normalize_doi

log = logging.getLogger(__name__)

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
class StoredRecord(Record):
    """A record as read in bulk from the store, with its metadata's JSON text as stored.

    Search documents embed that text instead of serialising the metadata once more.
    """

    metadata_json: str = field(kw_only=True, repr=False, compare=False)


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
    """An engine configured for the catalogue: SQLite gets WAL, a busy timeout and FKs.

    SQLite checkpoints its WAL every 64 MB rather than every 4 MB: a page of records dirties
    ~2,000 pages (records have random ids, so every id index is written all over), so the
    default checkpointed after nearly every commit and copied the same index pages back into
    the database again and again (upserts were ~35% slower at 100k records). A larger page
    cache or mmap made no measurable difference and only cost memory.
    """
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA wal_autocheckpoint=16384")  # pages of 4 KiB
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
        dialect = self.engine.dialect
        self.is_postgres = dialect.name == "postgresql"
        self._writes = _PageWriter(dialect)
        # datetime -> the driver's form (SQLite: SQLAlchemy's text format); None stays None
        self._db_datetime = DateTime().dialect_impl(dialect).bind_processor(dialect) or _same

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
                s.execute(
                    update(RecordSetRow)
                    .where(RecordSetRow.record_id.in_(ids))
                    .values(datestamp=now)
                )
                self._log_changes(s.connection(), [(i, "delete") for i in ids], now)
            s.execute(delete(SourceRow).where(SourceRow.key == key))
            return len(ids)

    # -- records --------------------------------------------------------------

    def upsert_page(
        self,
        source: str,
        items: Iterable[IncomingRecord],
        *,
        actor: str | None = None,
        errors: list[RunError] | None = None,
    ) -> list[tuple[str, Outcome]]:
        """Store one page in one transaction; returns (record id, outcome) per distinct item.

        Idempotent: an item whose content (metadata, sets, deletion, raw bytes) equals what
        is stored changes nothing and logs nothing. An item whose record id is held by a
        record of another source (a deposit took the id first) is never written: its
        outcome is ``Outcome.FAILED``, and a ``RunError(source_id, "store", reason)`` is
        appended to ``errors`` when given (the run's error rows).
        """
        latest: dict[str, IncomingRecord] = {}
        for item in items:
            latest[item.source_id] = item  # the last copy of a repeated record wins
        if not latest:
            return []
        # COPY on PostgreSQL goes through the raw driver, whose errors SQLAlchemy never wraps.
        duplicate = (IntegrityError, self.engine.dialect.dbapi.IntegrityError)
        try:
            results, refused = self._write_page(source, latest, actor)
        except duplicate:
            # Another writer inserted some of these records between our existence check
            # and our insert (two harvests of one source at once, or a deposit). Its rows
            # are committed now, so a second attempt takes the update path for them.
            results, refused = self._write_page(source, latest, actor)
        for error in refused:
            log.warning("source %s: %s: %s", source, error.source_id, error.reason)
        if errors is not None:
            errors.extend(refused)
        return results

    def _write_page(
        self, source: str, latest: dict[str, IncomingRecord], actor: str | None
    ) -> tuple[list[tuple[str, Outcome]], list[RunError]]:
        """The page's outcomes, and an error row per item refused as another source's id."""
        by_id = {record_id(source, sid): item for sid, item in latest.items()}
        with self.engine.begin() as conn:
            existing = _existing(conn, list(by_id))
            results = self._write_rows(conn, source, by_id, actor, existing)
        refused = [
            RunError(
                by_id[rid].source_id,
                "store",
                f"record id {rid} is held by a record of source {existing[rid].source!r}; "
                "not overwritten",
            )
            for rid, outcome in results
            if outcome is Outcome.FAILED
        ]
        return results, refused

    def _write_rows(
        self,
        conn: Connection,
        source: str,
        by_id: dict[str, IncomingRecord],
        actor: str | None,
        existing: dict[str, Row[Any]],
    ) -> list[tuple[str, Outcome]]:
        """Write records (by catalogue id) in the caller's transaction: the one write path
        of harvests (``upsert_page``) and of the ingest API (``write_local``). ``existing``:
        rows with id, source, content_hash and deleted of the stored ones, read in this
        transaction.

        A row of another source is never touched: record ids are derived from (source,
        source id), so a foreign row under the id means someone took it first; its
        outcome is ``Outcome.FAILED``. Every update and tombstone increments the row's
        ``version`` (in SQL, no extra read), inserts start at 1."""
        now = utcnow()
        stamp = self._db_datetime(now)
        results: list[tuple[str, Outcome]] = []
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        tombstones: list[dict[str, Any]] = []
        raws: list[dict[str, Any]] = []
        replaced: list[str] = []  # updated records whose stored payload gives way to a new one
        set_rows: list[dict[str, Any]] = []
        reset_sets: list[str] = []  # updated records whose set rows are rewritten
        changes: list[tuple[str, str]] = []
        for rid, item in by_id.items():
            old = existing.get(rid)
            if old is not None and old.source != source:
                results.append((rid, Outcome.FAILED))
                continue
            if item.deleted:
                if old is None or old.deleted:
                    results.append((rid, Outcome.UNCHANGED))
                    continue
                tombstones.append(
                    {
                        "rid": rid,
                        "datestamp": stamp,
                        "harvested_at": stamp,
                        "source_datestamp": self._db_datetime(item.source_datestamp),
                        "deleted": True,
                        "content_hash": "deleted:" + old.content_hash[:56],
                    }
                )
                changes.append((rid, "delete"))
                results.append((rid, Outcome.DELETED))
                # a tombstone stays in its sets, with its new datestamp
                set_rows.append({"rid": rid, "datestamp": stamp})
                continue
            # serialised once: the text that is hashed is the text that is stored
            metadata = item.metadata or {}
            metadata_json = canonical_json(metadata)
            hashed_sets, stored_sets = _sets_json(tuple(item.sets))
            raw_sha256 = hashlib.sha256(item.raw).digest() if item.raw is not None else None
            digest = content_hash_of(metadata_json, hashed_sets, False, raw_sha256)
            if old is not None and old.content_hash == digest:
                results.append((rid, Outcome.UNCHANGED))
                continue
            row = {
                "doi": _doi_of(metadata),
                "datestamp": stamp,
                "harvested_at": stamp,
                "source_datestamp": self._db_datetime(item.source_datestamp),
                "deleted": False,
                "sets": stored_sets,
                "metadata": metadata_json,
                "content_hash": digest,
                "original_format": item.raw_format,
                "updated_by": actor,
            }
            if old is None:
                row.update(
                    id=rid,
                    source=source,
                    source_id=item.source_id,
                    created_at=stamp,
                    created_by=actor,
                )
                inserts.append(row)
                results.append((rid, Outcome.ADDED))
            else:
                row["rid"] = rid
                updates.append(row)
                results.append((rid, Outcome.UPDATED))
            changes.append((rid, "upsert"))
            if old is not None:
                reset_sets.append(rid)
            set_rows.extend(
                {"record_id": rid, "spec": spec, "datestamp": stamp}
                for spec in paged_set_specs(item.sets, metadata)
            )
            if item.raw is not None:
                raws.append(
                    {
                        "record_id": rid,
                        "format": item.raw_format or "unknown",
                        "content": compress_raw(item.raw),
                        "sha256": raw_sha256.hex(),
                    }
                )
                if old is not None:
                    replaced.append(rid)
        if inserts:
            self._writes.insert_records(conn, inserts)
        if updates:
            self._writes.update_records(conn, updates)
        if tombstones:
            self._writes.tombstone_records(conn, tombstones)
        for start in range(0, len(reset_sets), _CHUNK):
            conn.execute(_DELETE_SETS, {"ids": reset_sets[start : start + _CHUNK]})
        restamped = [row for row in set_rows if "rid" in row]
        if restamped:
            self._writes.restamp_sets(conn, restamped)
        new_sets = [row for row in set_rows if "rid" not in row]
        if new_sets:
            self._writes.insert_sets(conn, new_sets)
        for start in range(0, len(replaced), _CHUNK):
            conn.execute(_DELETE_RAW, {"ids": replaced[start : start + _CHUNK]})
        if raws:
            self._writes.insert_raws(conn, raws)
        if changes:
            self._log_changes(conn, changes, now)
        return results

    def mark_deleted(self, source: str, source_ids: Iterable[str]) -> int:
        """Tombstone records of ``source`` by their source ids; returns how many changed."""
        page = [IncomingRecord(source_id=sid, metadata=None, deleted=True) for sid in source_ids]
        return sum(1 for _, o in self.upsert_page(source, page) if o is Outcome.DELETED)

    def _log_changes(self, conn: Connection, changes: list[tuple[str, str]], now: datetime) -> None:
        if self.is_postgres:
            # Sequence values are handed out at insert time but become visible at commit;
            # holding this lock until commit makes commit order equal seq order, so an
            # indexer that has applied seq N can never later see a smaller seq appear.
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _CHANGE_LOG_LOCK})
        stamp = self._db_datetime(now)
        self._writes.insert_changes(
            conn, [{"record_id": rid, "op": op, "changed_at": stamp} for rid, op in changes]
        )

    def get_record(self, rid: str) -> Record | None:
        with self._session() as s:
            row = s.get(RecordRow, rid)
            return _record(row) if row else None

    def get_records(self, ids: Iterable[str]) -> dict[str, StoredRecord]:
        """The stored records (tombstones too) among ``ids``, by id."""
        ids = list(ids)
        out: dict[str, StoredRecord] = {}
        with self.engine.connect() as conn:
            for start in range(0, len(ids), _CHUNK):
                for row in conn.execute(_SELECT_BY_IDS, {"ids": ids[start : start + _CHUNK]}):
                    out[row.id] = _stored_record(row)
        return out

    def iter_records(
        self, *, include_deleted: bool = False, batch: int = 1000
    ) -> Iterator[StoredRecord]:
        """All records in id order, fetched in keyset batches so memory stays flat."""
        last = ""
        while True:
            stmt = _SELECT_RECORDS.where(_RECORDS.c.id > last)
            if not include_deleted:
                stmt = stmt.where(_RECORDS.c.deleted.is_(False))
            with self.engine.connect() as conn:
                rows = conn.execute(stmt.order_by(_RECORDS.c.id).limit(batch)).all()
            if not rows:
                return
            for row in rows:
                yield _stored_record(row)
            last = rows[-1].id

    def count_records(self, source: str | None = None, *, deleted: bool = False) -> int:
        with self._session() as s:
            stmt = select(func.count()).select_from(RecordRow).where(RecordRow.deleted.is_(deleted))
            if source is not None:
                stmt = stmt.where(RecordRow.source == source)
            return s.scalar(stmt) or 0

    def live_source_ids(self, source: str) -> set[str]:
        """Source ids of the records of ``source`` that are not tombstones (deletion
        detection of harvesters whose APIs list records but never report deletions)."""
        stmt = select(_RECORDS.c.source_id).where(
            _RECORDS.c.source == source, _RECORDS.c.deleted.is_(False)
        )
        with self.engine.connect() as conn:
            return set(conn.execute(stmt).scalars())

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

    # -- OAI-PMH reads --------------------------------------------------------

    def oai_page(
        self,
        *,
        after: tuple[datetime, str] | None,
        from_: datetime | None,
        until: datetime | None,
        spec: str | None,
        limit: int,
        with_metadata: bool,
    ) -> list[OaiEntry]:
        """Up to ``limit`` records (tombstones too) in (datestamp, id) order after ``after``.

        A keyset walk over the (datestamp, id) index, or over record_sets' (spec,
        datestamp, record_id) index for a set: a page deep in the list costs what the
        first one does. ``spec`` in ROOT_SETS (or None) means no set restriction.
        """
        stmt = _oai_select(spec, with_metadata)
        stamp, rid = _oai_keys(spec)
        if after is not None:
            # ``after`` lies inside [from_, until] already: one lower bound is enough.
            stmt = stmt.where(tuple_(stamp, rid) > tuple_(*after))
        elif from_ is not None:
            stmt = stmt.where(stamp >= from_)
        if until is not None:
            stmt = stmt.where(stamp <= until)
        if spec is not None and spec not in ROOT_SETS:
            stmt = stmt.where(_RECORD_SETS.c.spec == spec)
        stmt = stmt.order_by(stamp, rid).limit(limit)
        with self.engine.connect() as conn:
            return [_oai_entry(row, with_metadata) for row in conn.execute(stmt)]

    def oai_entry(self, rid: str) -> OaiEntry | None:
        """One record (or tombstone) with its metadata, for GetRecord."""
        stmt = _oai_select(None, True).where(_RECORDS.c.id == rid)
        with self.engine.connect() as conn:
            row = conn.execute(stmt).first()
        return _oai_entry(row, True) if row is not None else None

    def oai_count(self, *, from_: datetime | None, until: datetime | None, spec: str | None) -> int:
        """How many records (tombstones too) a list request matches: an index-only count,
        which the provider runs once per harvest, on its first page."""
        stamp, _ = _oai_keys(spec)
        stmt = select(func.count()).select_from(stamp.table)
        if spec is not None and spec not in ROOT_SETS:
            stmt = stmt.where(_RECORD_SETS.c.spec == spec)
        if from_ is not None:
            stmt = stmt.where(stamp >= from_)
        if until is not None:
            stmt = stmt.where(stamp <= until)
        with self.engine.connect() as conn:
            return conn.execute(stmt).scalar_one()

    def oai_earliest_datestamp(self) -> datetime | None:
        """The oldest datestamp of any record or tombstone (one probe of the index)."""
        with self.engine.connect() as conn:
            return conn.execute(select(func.min(_RECORDS.c.datestamp))).scalar()

    def oai_set_specs(self) -> list[str]:
        """Every setSpec some record is in, ROOT_SETS excepted, sorted.

        A loose index scan (one index probe per distinct spec) rather than DISTINCT,
        which would read every row of record_sets.
        """
        with self.engine.connect() as conn:
            return [row[0] for row in conn.execute(_DISTINCT_SPECS)]

    # -- local records (the ingest API) ---------------------------------------

    def write_local(
        self,
        writes: Sequence[LocalWrite],
        *,
        actor: str | None,
        atomic: bool = True,
        dry_run: bool = False,
        read_back: bool = False,
    ) -> list[LocalResult]:
        """Create, replace or delete records of the local source in one transaction.

        Every precondition is checked inside the transaction, under a lock that orders
        local writes (so two requests cannot both pass a check and then both write): ids
        free for creates; the record there, local, not a tombstone and with a matching
        ETag for replaces and deletes; no other live local record holding the DOI. A
        failing write gets a ``problem``; with ``atomic`` one failure stores nothing,
        without it the others are stored. ``dry_run`` checks everything, stores nothing.
        ``read_back`` also sets each stored result's ``state``, read in the transaction.
        """
        # SQLite: writers of this process queue on a Python lock, which wakes the next one
        # at once; contending for SQLite's own lock means its busy handler's sleeps (up to
        # 100 ms a try), which made the p95 of concurrent single deposits ~1 s.
        in_process = _SQLITE_LOCAL_WRITES if not self.is_postgres else nullcontext()
        with in_process, self.engine.connect() as conn:
            tx = conn.begin()
            try:
                self._lock_local_writes(conn)
                states = _rows_by_id(conn, _SELECT_STATE, [w.rid for w in writes])
                results = self._check_local(conn, writes, states)
                failed = any(result.problem for result in results)
                if dry_run or (atomic and failed) or all(r.problem for r in results):
                    tx.rollback()
                    return results
                ok = [(w, r) for w, r in zip(writes, results, strict=True) if r.problem is None]
                self._apply_local(conn, ok, actor, states, read_back)
                tx.commit()
            except IntegrityError as exc:
                # Only a harvest writing the same id between our check and our insert
                # gets here (harvests do not take the local-writes lock).
                tx.rollback()
                raise LocalWriteConflict("a concurrent write took one of these ids") from exc
            except BaseException:
                tx.rollback()
                raise
        return results

    def _lock_local_writes(self, conn: Connection) -> None:
        if self.is_postgres:
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCAL_WRITES_LOCK})
        elif self.engine.dialect.name == "sqlite":
            # Take the write lock before reading: a deferred transaction that read first
            # fails with SQLITE_BUSY (no retry) when another writer commits in between.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    def _check_local(
        self, conn: Connection, writes: Sequence[LocalWrite], states: dict[str, Row[Any]]
    ) -> list[LocalResult]:
        """Each write's problem, if any; ``states`` are the stored rows (``_SELECT_STATE``)."""
        dois = {_doi_of(w.metadata or {}) for w in writes if w.op != "delete"} - {None}
        holders: dict[str, str] = {}
        doi_list = sorted(dois)
        for start in range(0, len(doi_list), _CHUNK):
            stmt = _SELECT_DOI_HOLDERS
            for row in conn.execute(stmt, {"dois": doi_list[start : start + _CHUNK]}):
                if row.source == LOCAL_SOURCE and not row.deleted:
                    holders.setdefault(row.doi, row.id)
        results: list[LocalResult] = []
        seen: set[str] = set()
        for w in writes:
            problem = _precondition_problem(w, states.get(w.rid), w.rid in seen)
            seen.add(w.rid)
            doi = _doi_of(w.metadata or {}) if w.op != "delete" else None
            if problem is None and doi is not None:
                holder = holders.get(doi)
                if holder is not None and holder != w.rid:
                    problem = LocalProblem(
                        ProblemKind.DOI_TAKEN, f"DOI {doi} is already held by record {holder}"
                    )
                else:
                    holders[doi] = w.rid  # later items of the same request see the claim
            results.append(LocalResult(w.rid, problem=problem))
        return results

    def _apply_local(
        self,
        conn: Connection,
        ok: list[tuple[LocalWrite, LocalResult]],
        actor: str | None,
        states: dict[str, Row[Any]],
        read_back: bool,
    ) -> None:
        by_id = {
            w.rid: IncomingRecord(
                source_id=w.rid,
                metadata=w.metadata,
                sets=list(w.sets),
                deleted=w.op == "delete",
                raw=w.raw,
                raw_format=w.raw_format,
            )
            for w, _ in ok
        }
        outcomes = dict(self._write_rows(conn, LOCAL_SOURCE, by_id, actor, states))
        foreign = sorted(rid for rid, outcome in outcomes.items() if outcome is Outcome.FAILED)
        if foreign:
            # _check_local refuses these already; the store must never write them anyway.
            raise LocalWriteConflict(f"record id {foreign[0]!r} belongs to another source")
        schema_rows = [
            {"rid": w.rid, "schema_id": w.schema_id, "schema_version": w.schema_version}
            for w, _ in ok
            if w.op == "replace" or (w.op == "create" and w.schema_id is not None)
        ]
        if schema_rows:
            conn.execute(_SET_SCHEMA, schema_rows)
        deleted = [{"rid": w.rid, "updated_by": actor} for w, _ in ok if w.op == "delete"]
        if deleted:
            conn.execute(_SET_UPDATED_BY, deleted)
        # A replace without a document drops the document of the version it replaces.
        dropped = [
            w.rid
            for w, _ in ok
            if w.op == "replace" and w.raw is None and outcomes[w.rid] is Outcome.UPDATED
        ]
        for start in range(0, len(dropped), _CHUNK):
            conn.execute(_DELETE_RAW, {"ids": dropped[start : start + _CHUNK]})
        # Read back in this transaction: the caller answers with what was stored, and
        # needs no second read that a later write could overtake. Whole records only when
        # asked for (parsing them back costs lists of 1,000 ~10%).
        select_written = _SELECT_RECORD_STATES if read_back else _SELECT_STATE
        written = _rows_by_id(conn, select_written, [w.rid for w, _ in ok])
        for w, result in ok:
            result.outcome = outcomes[w.rid]
            result.etag = _etag_of_row(written[w.rid])
            if read_back:
                result.state = _record_state(written[w.rid])

    def get_record_state(self, rid: str) -> RecordState | None:
        """A record (tombstones too) with its ETag and who created and last changed it."""
        with self.engine.connect() as conn:
            row = conn.execute(_SELECT_RECORD_STATE, {"rid": rid}).first()
        return _record_state(row) if row is not None else None

    # -- API tokens -----------------------------------------------------------

    def create_token(
        self, name: str, role: str, *, created_by: str | None = None
    ) -> tuple[ApiToken, str]:
        """A new bearer token; returns it with its secret, which is shown once and only its
        SHA-256 is stored."""
        if role not in TOKEN_ROLES:
            raise ValueError(f"role must be one of {TOKEN_ROLES}")
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        row = ApiTokenRow(
            name=name,
            role=role,
            token_hash=token_hash(secret),
            created_at=utcnow(),
            created_by=created_by,
        )
        with self._session.begin() as s:
            s.add(row)
            s.flush()
            return _token(row), secret

    def find_token(self, secret: str) -> ApiToken | None:
        """The active (not revoked) token with this secret, or None.

        Read on every authenticated request, so it is a Core statement built once (through
        the ORM it cost ~0.5 ms); never cached, so a revocation applies to the next request.
        """
        with self.engine.connect() as conn:
            row = conn.execute(_SELECT_ACTIVE_TOKEN, {"hash": token_hash(secret)}).first()
        return _token(row) if row is not None else None

    def touch_token(self, token_id: int, when: datetime) -> None:
        with self._session.begin() as s:
            s.execute(
                update(ApiTokenRow).where(ApiTokenRow.id == token_id).values(last_used_at=when)
            )

    def list_tokens(self) -> list[ApiToken]:
        with self._session() as s:
            return [_token(r) for r in s.scalars(select(ApiTokenRow).order_by(ApiTokenRow.id))]

    def revoke_token(self, token_id: int) -> ApiToken | None:
        """Revoke a token (idempotent); None when there is no such token."""
        with self._session.begin() as s:
            row = s.get(ApiTokenRow, token_id)
            if row is None:
                return None
            if row.revoked_at is None:
                row.revoked_at = utcnow()
            return _token(row)

    # -- schema registry ------------------------------------------------------

    def register_schema(
        self,
        schema_id: str,
        type: str,
        mime_type: str,
        content: str,
        *,
        label: str | None = None,
        comment: str | None = None,
        actor: str | None = None,
    ) -> tuple[RegisteredSchema, bool]:
        """Store ``content`` as the next version of ``schema_id``; returns (version, created).

        Registering the content of the latest version again creates nothing (idempotent).
        """
        digest = hashlib.sha256(content.encode()).hexdigest()
        for _attempt in range(3):
            latest = self.get_schema(schema_id)
            if latest is not None and latest.sha256 == digest and latest.type == type:
                return latest, False
            row = SchemaRow(
                schema_id=schema_id,
                version=(latest.version + 1) if latest else 1,
                type=type,
                mime_type=mime_type,
                label=label,
                comment=comment,
                content=content,
                sha256=digest,
                created_at=utcnow(),
                created_by=actor,
            )
            try:
                with self._session.begin() as s:
                    s.add(row)
            except IntegrityError:
                continue  # another request took this version number; number again
            return _schema(row), True
        raise LocalWriteConflict(f"schema {schema_id!r} is being registered concurrently")

    def get_schema(self, schema_id: str, version: int | None = None) -> RegisteredSchema | None:
        """One version of a registered schema; the latest when ``version`` is None."""
        stmt = select(SchemaRow).where(SchemaRow.schema_id == schema_id)
        if version is None:
            stmt = stmt.order_by(SchemaRow.version.desc()).limit(1)
        else:
            stmt = stmt.where(SchemaRow.version == version)
        with self._session() as s:
            row = s.scalars(stmt).first()
            return _schema(row) if row else None

    def schema_versions(self, schema_id: str) -> list[int]:
        with self._session() as s:
            return list(
                s.scalars(
                    select(SchemaRow.version)
                    .where(SchemaRow.schema_id == schema_id)
                    .order_by(SchemaRow.version)
                )
            )

    def list_schemas(self) -> list[RegisteredSchema]:
        """The latest version of every registered schema, by id."""
        latest = (
            select(SchemaRow.schema_id, func.max(SchemaRow.version).label("version"))
            .group_by(SchemaRow.schema_id)
            .subquery()
        )
        stmt = (
            select(SchemaRow)
            .join(
                latest,
                (SchemaRow.schema_id == latest.c.schema_id)
                & (SchemaRow.version == latest.c.version),
            )
            .order_by(SchemaRow.schema_id)
        )
        with self._session() as s:
            return [_schema(r) for r in s.scalars(stmt)]


# -- page writes ---------------------------------------------------------------
#
# ``upsert_page`` is the hot path of every harvest. Its rows are written with plain DB-API
# executemany calls of statements compiled once per store, with values already in the
# driver's form: SQLAlchemy's per-row parameter processing cost more than SQLite's own work.

# zlib level of stored raw payloads: on payloads of a few KB, level 1 is ~10% faster than 6
# and ~2% larger (measured on the records of benchmarks/store_index_bench.py).
RAW_COMPRESSION_LEVEL = 1


def compress_raw(raw: bytes) -> bytes:
    """zlib with a 4 KiB window and small memLevel: for records of a few KB, setting up the
    default 256 KiB deflate state costs more than compressing (measured 75 vs 14 µs per
    1.5 KB record, same output size). The stream is plain zlib; ``zlib.decompress`` reads it.
    Large payloads get the full window, where it pays for itself.
    """
    if len(raw) > 16384:
        return zlib.compress(raw, RAW_COMPRESSION_LEVEL)
    packer = zlib.compressobj(RAW_COMPRESSION_LEVEL, zlib.DEFLATED, 12, 4)
    return packer.compress(raw) + packer.flush()


# Ids per IN (...) list: far below every backend's bound-parameter limit.
_CHUNK = 500

_RECORDS = RecordRow.__table__
_RAW_PAYLOADS = RawPayloadRow.__table__

_SELECT_EXISTING = select(
    _RECORDS.c.id, _RECORDS.c.source, _RECORDS.c.content_hash, _RECORDS.c.deleted
).where(_RECORDS.c.id.in_(bindparam("ids", expanding=True)))
_DELETE_RAW = delete(_RAW_PAYLOADS).where(
    _RAW_PAYLOADS.c.record_id.in_(bindparam("ids", expanding=True))
)
_RECORD_SETS = RecordSetRow.__table__
_DELETE_SETS = delete(_RECORD_SETS).where(
    _RECORD_SETS.c.record_id.in_(bindparam("ids", expanding=True))
)
_BY_RID = _RECORDS.c.id == bindparam("rid")
# Every write of a stored record increments its version (the literal keeps it out of the
# executemany parameters); inserts take the column's default, 1.
_NEXT_VERSION = _RECORDS.c.version + literal_column("1", Integer)
_UPDATE_RECORD = update(_RECORDS).where(_BY_RID).values(version=_NEXT_VERSION)

# Bulk reads (the indexer): plain rows, the metadata as JSON text (parsed once, and kept).
_SELECT_RECORDS = select(
    _RECORDS.c.id,
    _RECORDS.c.source,
    _RECORDS.c.source_id,
    cast(_RECORDS.c["metadata"], Text).label("metadata_json"),
    _RECORDS.c.sets,
    _RECORDS.c.deleted,
    _RECORDS.c.datestamp,
    _RECORDS.c.source_datestamp,
    _RECORDS.c.harvested_at,
    _RECORDS.c.created_at,
    _RECORDS.c.original_format,
)
_SELECT_BY_IDS = _SELECT_RECORDS.where(_RECORDS.c.id.in_(bindparam("ids", expanding=True)))

# The columns each kind of row sets; the rows built by ``upsert_page`` have exactly these keys.
_CONTENT = (
    "doi",
    "datestamp",
    "harvested_at",
    "source_datestamp",
    "deleted",
    "sets",
    "metadata",
    "content_hash",
    "original_format",
    "updated_by",
)
_NEW = ("id", "source", "source_id", "created_at", "created_by", *_CONTENT)
_TOMBSTONE = ("datestamp", "harvested_at", "source_datestamp", "deleted", "content_hash")
_RAW = ("record_id", "format", "content", "sha256")
_CHANGE = ("record_id", "op", "changed_at")
_SET = ("record_id", "spec", "datestamp")


class _ExecuteMany:
    """An INSERT or UPDATE run for many rows straight through the driver's executemany.

    Compiled once for the columns in ``keys``, with the dialect's own SQL (PostgreSQL gets
    its ``::JSONB`` casts, so JSON columns take text). Rows are dicts of driver-ready
    values: JSON as text, datetimes through ``Store._db_datetime``.
    """

    def __init__(self, statement: Insert | Update, keys: Sequence[str], dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect, column_keys=list(keys))
        self.sql = compiled.string
        self.order = compiled.positiontup  # None for named paramstyles (psycopg)

    def __call__(self, conn: Connection, rows: list[dict[str, Any]]) -> None:
        if self.order is None:
            conn.exec_driver_sql(self.sql, rows)
        else:
            conn.exec_driver_sql(self.sql, [tuple(row[k] for k in self.order) for row in rows])


class _InsertMany:
    """An INSERT of many rows: COPY ... FROM STDIN with psycopg (3x faster than pipelined
    INSERTs for small rows), else the driver's executemany (``_ExecuteMany``)."""

    def __init__(self, table: Table, keys: Sequence[str], dialect: Dialect) -> None:
        self.keys = list(keys)
        self.copy_sql = None
        if dialect.name == "postgresql" and dialect.driver == "psycopg":
            quote = dialect.identifier_preparer.quote
            columns = ", ".join(quote(key) for key in self.keys)
            self.copy_sql = f"COPY {quote(table.name)} ({columns}) FROM STDIN"
        else:
            self.many = _ExecuteMany(insert(table), self.keys, dialect)

    def __call__(self, conn: Connection, rows: list[dict[str, Any]]) -> None:
        if self.copy_sql is None:
            self.many(conn, rows)
            return
        cursor = conn.connection.cursor()  # the same connection, so the same transaction
        try:
            with cursor.copy(self.copy_sql) as copy:
                for row in rows:
                    copy.write_row([row[key] for key in self.keys])
        finally:
            cursor.close()


class _PageWriter:
    """The compiled page writes of one store (one dialect)."""

    def __init__(self, dialect: Dialect) -> None:
        self.insert_records = _InsertMany(_RECORDS, _NEW, dialect)
        self.update_records = _ExecuteMany(_UPDATE_RECORD, _CONTENT, dialect)
        self.tombstone_records = _ExecuteMany(_UPDATE_RECORD, _TOMBSTONE, dialect)
        self.insert_raws = _InsertMany(_RAW_PAYLOADS, _RAW, dialect)
        self.insert_changes = _InsertMany(ChangeRow.__table__, _CHANGE, dialect)
        self.insert_sets = _InsertMany(_RECORD_SETS, _SET, dialect)
        self.restamp_sets = _ExecuteMany(
            update(_RECORD_SETS).where(_RECORD_SETS.c.record_id == bindparam("rid")),
            ("datestamp",),
            dialect,
        )


def _existing(conn: Connection, ids: list[str]) -> dict[str, Row[Any]]:
    """(id, source, content_hash, deleted) of the stored records among ``ids``, by primary key."""
    found = {}
    for start in range(0, len(ids), _CHUNK):
        for row in conn.execute(_SELECT_EXISTING, {"ids": ids[start : start + _CHUNK]}):
            found[row.id] = row
    return found


@lru_cache(maxsize=1024)
def _sets_json(sets: tuple[str, ...]) -> tuple[str, str]:
    """Sets -> (their JSON in ``content_hash``, their JSON as stored); the records of a
    source share a handful of combinations."""
    return json.dumps(sorted(sets)), json.dumps(sorted(set(sets)))


def _same(value: Any) -> Any:
    return value


def _doi_of(metadata: dict[str, Any]) -> str | None:
    for ident in metadata.get("identifiers", ()):
        if ident.get("identifierType") == "DOI":  # compared normalised: doi:, https://doi.org/
            return normalize_doi(ident["identifier"]) or ident["identifier"].strip().lower()
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


def _envelope(row: Any) -> dict[str, Any]:
    """The Record fields other than metadata, from an ORM row or a Core row alike."""
    return {
        "id": row.id,
        "source": row.source,
        "source_id": row.source_id,
        "sets": list(row.sets or []),
        "deleted": row.deleted,
        "datestamp": row.datestamp,
        "source_datestamp": row.source_datestamp,
        "harvested_at": row.harvested_at,
        "created_at": row.created_at,
        "original_format": row.original_format,
    }


def _record(row: RecordRow) -> Record:
    return Record(metadata=row.meta or {}, **_envelope(row))


def _stored_record(row: Row[Any]) -> StoredRecord:
    metadata_json = row.metadata_json
    metadata = json.loads(metadata_json)
    if not metadata:  # as in _record: no metadata reads as {}
        metadata, metadata_json = {}, "{}"
    return StoredRecord(metadata=metadata, metadata_json=metadata_json, **_envelope(row))


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


# -- OAI-PMH reads ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OaiEntry:
    """What the OAI-PMH provider shows of one record: header fields, metadata (when asked
    for, parsed once) and the provenance of harvested records."""

    id: str
    datestamp: datetime
    deleted: bool
    set_specs: list[str]
    metadata: dict[str, Any] | None
    source: str
    source_id: str
    source_datestamp: datetime | None
    harvested_at: datetime | None
    original_format: str | None


def _oai_keys(spec: str | None) -> tuple[Any, Any]:
    """The (datestamp, id) columns a list walks: record_sets' copy for a set, so the whole
    walk stays on the (spec, datestamp, record_id) index."""
    if spec is not None and spec not in ROOT_SETS:
        return _RECORD_SETS.c.datestamp, _RECORD_SETS.c.record_id
    return _RECORDS.c.datestamp, _RECORDS.c.id


def _oai_select(spec: str | None, with_metadata: bool) -> Any:
    columns = [
        _RECORDS.c.id,
        _RECORDS.c.datestamp,
        _RECORDS.c.deleted,
        _RECORDS.c.sets,
        _RECORDS.c.source,
        _RECORDS.c.source_id,
        _RECORDS.c.source_datestamp,
        _RECORDS.c.harvested_at,
        _RECORDS.c.original_format,
    ]
    if with_metadata:
        columns.append(cast(_RECORDS.c["metadata"], Text).label("metadata_json"))
    else:
        # headers need only the resource type (for the type:<T> setSpec)
        kind = _RECORDS.c["metadata"][("types", "resourceTypeGeneral")].as_string()
        columns.append(kind.label("kind"))
    stmt = select(*columns)
    if spec is not None and spec not in ROOT_SETS:
        stmt = stmt.select_from(
            _RECORD_SETS.join(_RECORDS, _RECORDS.c.id == _RECORD_SETS.c.record_id)
        )
    return stmt


def _oai_entry(row: Row[Any], with_metadata: bool) -> OaiEntry:
    if with_metadata:
        metadata = json.loads(row.metadata_json) if row.metadata_json else None
        specs = set_specs(row.sets or [], metadata or {})
    else:
        metadata = None
        specs = set_specs(row.sets or [], {"types": {"resourceTypeGeneral": row.kind}})
    return OaiEntry(
        id=row.id,
        datestamp=row.datestamp,
        deleted=row.deleted,
        set_specs=specs,
        metadata=metadata or {} if with_metadata else None,
        source=row.source,
        source_id=row.source_id,
        source_datestamp=row.source_datestamp,
        harvested_at=row.harvested_at,
        original_format=row.original_format,
    )


# Emulates a loose index scan on both SQLite and PostgreSQL: each step seeks the next spec.
_DISTINCT_SPECS = text(
    "WITH RECURSIVE specs(spec) AS ("
    " SELECT MIN(spec) FROM record_sets"
    " UNION ALL"
    " SELECT (SELECT MIN(r.spec) FROM record_sets r WHERE r.spec > specs.spec)"
    " FROM specs WHERE specs.spec IS NOT NULL"
    ") SELECT spec FROM specs WHERE spec IS NOT NULL"
)


# -- local records, API tokens, schema registry (the ingest API) ------------------

# Arbitrary constant naming the PostgreSQL advisory lock that orders writes of local records.
_LOCAL_WRITES_LOCK = 0x6361745F6C6F63
_SQLITE_LOCAL_WRITES = threading.Lock()

TOKEN_ROLES = ("admin", "depositor", "reader")
# Makes a leaked token recognisable (secret scanners, logs) as one of ours.
TOKEN_PREFIX = "cat_"


def token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class LocalWriteConflict(StoreError):
    """A write lost a race that the checks inside its transaction could not see."""


class ProblemKind(enum.StrEnum):
    ID_TAKEN = "id_taken"
    NOT_FOUND = "not_found"
    GONE = "gone"
    NOT_LOCAL = "not_local"
    STALE = "stale"
    DOI_TAKEN = "doi_taken"


@dataclass(frozen=True)
class LocalProblem:
    kind: ProblemKind
    message: str


@dataclass
class LocalWrite:
    """One write of a local record: ``op`` is "create", "replace" or "delete".

    ``expected_etags`` (replace, delete) are the ETags the client last saw; None skips
    the comparison (``If-Match: *``: any current version will do).
    """

    rid: str
    op: str
    metadata: dict[str, Any] | None = None
    sets: Sequence[str] = ()
    raw: bytes | None = None
    raw_format: str | None = None
    schema_id: str | None = None
    schema_version: int | None = None
    expected_etags: frozenset[str] | None = None


@dataclass
class LocalResult:
    rid: str
    outcome: Outcome | None = None
    etag: str | None = None
    problem: LocalProblem | None = None
    state: RecordState | None = None  # the record as stored (``read_back`` only)


@dataclass
class RecordState:
    record: Record
    etag: str
    created_by: str | None
    updated_by: str | None
    schema_id: str | None
    schema_version: int | None


@dataclass(frozen=True)
class ApiToken:
    id: int
    name: str
    role: str
    created_at: datetime
    created_by: str | None
    revoked_at: datetime | None
    last_used_at: datetime | None


@dataclass(frozen=True)
class RegisteredSchema:
    schema_id: str
    version: int
    type: str
    mime_type: str
    label: str | None
    comment: str | None
    content: str
    sha256: str
    created_at: datetime
    created_by: str | None


def record_etag(
    content_hash: str, version: int, schema_id: str | None, schema_version: int | None
) -> str:
    """A strong ETag of a stored record: its content, its version, its schema.

    The version (incremented by every write) makes each state's ETag new: content A -> B
    -> A gives A a new ETag, so a client holding the first one gets 412 (no lost update).
    """
    key = f"{content_hash}|{version}|{schema_id or ''}|{schema_version or ''}"
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def _etag_of_row(row: Row[Any]) -> str:
    return record_etag(row.content_hash, row.version, row.schema_id, row.schema_version)


def _record_state(row: Row[Any]) -> RecordState:
    """A RecordState from a ``_SELECT_RECORD_STATE`` row."""
    return RecordState(
        record=_stored_record(row),
        etag=_etag_of_row(row),
        created_by=row.created_by,
        updated_by=row.updated_by,
        schema_id=row.schema_id,
        schema_version=row.schema_version,
    )


def _rows_by_id(conn: Connection, stmt: Any, ids: Sequence[str]) -> dict[str, Row[Any]]:
    """The rows of ``stmt`` (selecting ``id``, filtering on an expanding ``ids``), by id."""
    ids = list(dict.fromkeys(ids))
    found: dict[str, Row[Any]] = {}
    for start in range(0, len(ids), _CHUNK):
        for row in conn.execute(stmt, {"ids": ids[start : start + _CHUNK]}):
            found[row.id] = row
    return found


def _precondition_problem(
    write: LocalWrite, state: Row[Any] | None, repeated: bool
) -> LocalProblem | None:
    if write.op == "create":
        if state is not None or repeated:
            return LocalProblem(ProblemKind.ID_TAKEN, f"id {write.rid!r} is already in use")
        return None
    if state is None or repeated:
        return LocalProblem(ProblemKind.NOT_FOUND, f"no record with id {write.rid!r}")
    if state.source != LOCAL_SOURCE:
        return LocalProblem(
            ProblemKind.NOT_LOCAL,
            f"record {write.rid!r} was harvested from source {state.source!r}; "
            "only deposited records can be changed",
        )
    if state.deleted:
        return LocalProblem(ProblemKind.GONE, f"record {write.rid!r} was deleted")
    if write.expected_etags is not None and _etag_of_row(state) not in write.expected_etags:
        return LocalProblem(
            ProblemKind.STALE, f"record {write.rid!r} has changed since that ETag was read"
        )
    return None


_SELECT_STATE = select(
    _RECORDS.c.id,
    _RECORDS.c.source,
    _RECORDS.c.deleted,
    _RECORDS.c.content_hash,
    _RECORDS.c.version,
    _RECORDS.c.schema_id,
    _RECORDS.c.schema_version,
).where(_RECORDS.c.id.in_(bindparam("ids", expanding=True)))
# A whole record with what its RecordState needs (Core: the ORM cost ~0.5 ms a read).
_SELECT_RECORD_STATE_COLUMNS = _SELECT_RECORDS.add_columns(
    _RECORDS.c.content_hash,
    _RECORDS.c.version,
    _RECORDS.c.schema_id,
    _RECORDS.c.schema_version,
    _RECORDS.c.created_by,
    _RECORDS.c.updated_by,
)
_SELECT_RECORD_STATE = _SELECT_RECORD_STATE_COLUMNS.where(_BY_RID)
_SELECT_RECORD_STATES = _SELECT_RECORD_STATE_COLUMNS.where(
    _RECORDS.c.id.in_(bindparam("ids", expanding=True))
)
# By DOI alone, filtered in Python: with source and deleted in the WHERE clause SQLite
# walked the source index (every local record) instead of the DOI index.
_SELECT_DOI_HOLDERS = select(
    _RECORDS.c.doi, _RECORDS.c.id, _RECORDS.c.source, _RECORDS.c.deleted
).where(_RECORDS.c.doi.in_(bindparam("dois", expanding=True)))
# A replace that only changes the record's schema is a new version too (content unchanged,
# so _write_rows did not count it); SET expressions all read the row as it was.
_SET_SCHEMA = (
    update(_RECORDS)
    .where(_BY_RID)
    .values(
        schema_id=bindparam("schema_id"),
        schema_version=bindparam("schema_version"),
        version=_RECORDS.c.version
        + case(
            (
                or_(
                    _RECORDS.c.schema_id.is_distinct_from(bindparam("schema_id")),
                    _RECORDS.c.schema_version.is_distinct_from(bindparam("schema_version")),
                ),
                literal_column("1", Integer),
            ),
            else_=literal_column("0", Integer),
        ),
    )
)
_SET_UPDATED_BY = update(_RECORDS).where(_BY_RID).values(updated_by=bindparam("updated_by"))
_TOKENS = ApiTokenRow.__table__
_SELECT_ACTIVE_TOKEN = select(_TOKENS).where(
    _TOKENS.c.token_hash == bindparam("hash"), _TOKENS.c.revoked_at.is_(None)
)


def _token(row: ApiTokenRow) -> ApiToken:
    return ApiToken(
        id=row.id,
        name=row.name,
        role=row.role,
        created_at=row.created_at,
        created_by=row.created_by,
        revoked_at=row.revoked_at,
        last_used_at=row.last_used_at,
    )


def _schema(row: SchemaRow) -> RegisteredSchema:
    return RegisteredSchema(
        schema_id=row.schema_id,
        version=row.version,
        type=row.type,
        mime_type=row.mime_type,
        label=row.label,
        comment=row.comment,
        content=row.content,
        sha256=row.sha256,
        created_at=row.created_at,
        created_by=row.created_by,
    )
