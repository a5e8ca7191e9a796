"""The one write path of records: harvest pages and local writes alike, every change
appended to the change log in the same transaction."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

from sqlalchemy import bindparam, delete, select, text
from sqlalchemy.engine import Connection, Engine, Row, Transaction
from sqlalchemy.exc import DBAPIError, IntegrityError

from catalogue.model import record_id
from catalogue.store.bulk import COPY_MIN_ROWS, _PageWriter
from catalogue.store.engine import _CHUNK, StoreBase
from catalogue.store.rows import _RAW_PAYLOADS, _RECORD_SETS, _RECORDS
from catalogue.store.types import IncomingRecord, Outcome, RunError
from catalogue.store.write_plan import WritePlan, plan_writes, prepare_record
from harvester import clock

log = logging.getLogger(__name__)


# Arbitrary constant naming the PostgreSQL advisory lock that orders change-log appends.
_CHANGE_LOG_LOCK = 0x6361745F6C6F67

_SELECT_EXISTING = select(
    _RECORDS.c.id, _RECORDS.c.source, _RECORDS.c.content_hash, _RECORDS.c.deleted
).where(_RECORDS.c.id.in_(bindparam("ids", expanding=True)))
_DELETE_RAW = delete(_RAW_PAYLOADS).where(
    _RAW_PAYLOADS.c.record_id.in_(bindparam("ids", expanding=True))
)
_DELETE_SETS = delete(_RECORD_SETS).where(
    _RECORD_SETS.c.record_id.in_(bindparam("ids", expanding=True))
)


class RecordWrites(StoreBase):
    """Page upserts, tombstones and the change log."""

    # RunSink's optional preparer: a harvest's mapping worker serialises, hashes and
    # compresses its records (``IncomingRecord.prepared``), the writing process need not.
    preparer = staticmethod(prepare_record)

    def __init__(self, url_or_engine: str | Engine) -> None:
        super().__init__(url_or_engine)
        self._writes = _PageWriter(self.engine.dialect)
        dialect = self.engine.dialect
        self._pipelines = dialect.name == "postgresql" and dialect.driver == "psycopg"

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
        with self.engine.connect() as conn, conn.begin() as tx:
            existing = _existing(conn, list(by_id))
            plan = self._write_rows(conn, source, by_id, actor, existing)
            self._log_and_commit(conn, tx, plan)
        results = plan.results
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
    ) -> WritePlan:
        """Write records (by catalogue id) in the caller's transaction: the one write path
        of harvests (``upsert_page``) and of the ingest API (``write_local``). ``existing``:
        rows with id, source, content_hash and deleted of the stored ones, read in this
        transaction. What is written is :func:`plan_writes`'s plan (outcomes included);
        every update and tombstone increments the row's ``version`` (in SQL, no extra
        read), inserts start at 1. Records first (set and payload rows reference them),
        then their set rows and payloads; the change log is left to the caller's
        :meth:`_log_and_commit`, the last step of the transaction."""
        stamp = self._db_datetime(clock.utcnow())
        plan = plan_writes(source, by_id, existing, stamp, actor, self._db_datetime)
        small = max(len(plan.inserts), len(plan.new_sets), len(plan.raws))
        with self._pipeline(conn) if self._pipelines and small < COPY_MIN_ROWS else nullcontext():
            self._execute(conn, plan)
        return plan

    def _log_and_commit(self, conn: Connection, tx: Transaction, plan: WritePlan) -> None:
        """Append ``plan``'s change rows to the change log, then commit ``tx``.

        PostgreSQL holds the change-log lock from the append to the commit (see
        :meth:`_log_changes`), so every other writer's append waits for it: appending last
        keeps the wait to the commit itself. Through psycopg a few rows (a deposit) go with
        the lock and the COMMIT in one pipeline, so the lock is held for the server's work
        alone, not for round trips and this process's turn at the GIL. With the append
        ahead of a deposit's read-back, ``benchmarks/ingest_workers_bench.py --workers 1``
        made 276-301 requests/s against 329-382 since, alternating on one host."""
        if not plan.changes:
            tx.commit()
            return
        small = self._pipelines and len(plan.changes) < COPY_MIN_ROWS
        with self._pipeline(conn) if small else nullcontext():
            self._log_changes(conn, plan.changes, plan.stamp)
            tx.commit()

    @contextmanager
    def _pipeline(self, conn: Connection) -> Iterator[None]:
        """PostgreSQL through psycopg: the statements of the block go in one pipeline, one
        round trip instead of one per statement (for a few rows: larger writes use COPY,
        which a pipeline cannot carry). The server still runs them in order; an error
        surfaces when the pipeline syncs, raised as SQLAlchemy would raise it."""
        dbapi = self.engine.dialect.loaded_dbapi
        try:
            with conn.connection.dbapi_connection.pipeline():
                yield
        except dbapi.Error as exc:
            raise DBAPIError.instance(None, None, exc, dbapi.Error) from exc

    def _execute(self, conn: Connection, plan: WritePlan) -> None:
        writes = self._writes
        if plan.inserts:
            writes.insert_records(conn, plan.inserts)
        if plan.updates:
            writes.update_records(conn, plan.updates)
        if plan.tombstones:
            writes.tombstone_records(conn, plan.tombstones)
        for start in range(0, len(plan.reset_sets), _CHUNK):
            conn.execute(_DELETE_SETS, {"ids": plan.reset_sets[start : start + _CHUNK]})
        if plan.restamped_sets:
            writes.restamp_sets(conn, plan.restamped_sets)
        if plan.new_sets:
            # in key order: record ids are random, and B-tree inserts in key order reuse the
            # leaf they just wrote (SQLite: ~7% less CPU per record for the whole page write)
            plan.new_sets.sort()
            writes.insert_sets(conn, plan.new_sets)
        for start in range(0, len(plan.replaced_raws), _CHUNK):
            conn.execute(_DELETE_RAW, {"ids": plan.replaced_raws[start : start + _CHUNK]})
        if plan.raws:
            plan.raws.sort()  # by record id, as the set rows
            writes.insert_raws(conn, plan.raws)

    def mark_deleted(self, source: str, source_ids: Iterable[str]) -> int:
        """Tombstone records of ``source`` by their source ids; returns how many changed."""
        page = [IncomingRecord(source_id=sid, metadata=None, deleted=True) for sid in source_ids]
        return sum(1 for _, o in self.upsert_page(source, page) if o is Outcome.DELETED)

    def _log_changes(self, conn: Connection, changes: list[tuple[str, str]], stamp: Any) -> None:
        """Append (record id, op) rows stamped ``stamp`` (driver form) to the change log."""
        if self.is_postgres:
            # Sequence values are handed out at insert time but become visible at commit;
            # holding this lock until commit makes commit order equal seq order, so an
            # indexer that has applied seq N can never later see a smaller seq appear.
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _CHANGE_LOG_LOCK})
        self._writes.insert_changes(conn, [(rid, op, stamp) for rid, op in changes])


def _existing(conn: Connection, ids: list[str]) -> dict[str, Row[Any]]:
    """(id, source, content_hash, deleted) of the stored records among ``ids``, by primary key."""
    found = {}
    for start in range(0, len(ids), _CHUNK):
        for row in conn.execute(_SELECT_EXISTING, {"ids": ids[start : start + _CHUNK]}):
            found[row.id] = row
    return found
