"""The one write path of records: harvest pages and local writes alike, every change
appended to the change log in the same transaction."""

from __future__ import annotations

import hashlib
import json
import logging
import zlib
from collections.abc import Iterable
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, delete, select, text
from sqlalchemy.engine import Connection, Engine, Row
from sqlalchemy.exc import IntegrityError

from catalogue.model import canonical_json, content_hash_of, paged_set_specs, record_id
from catalogue.store.bulk import _PageWriter
from catalogue.store.engine import _CHUNK, StoreBase
from catalogue.store.rows import _RAW_PAYLOADS, _RECORD_SETS, _RECORDS, _doi_of
from catalogue.store.types import IncomingRecord, Outcome, RunError
from harvester import clock

log = logging.getLogger(__name__)


# Arbitrary constant naming the PostgreSQL advisory lock that orders change-log appends.
_CHANGE_LOG_LOCK = 0x6361745F6C6F67

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

    def __init__(self, url_or_engine: str | Engine) -> None:
        super().__init__(url_or_engine)
        self._writes = _PageWriter(self.engine.dialect)

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
        now = clock.utcnow()
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
