"""Writes of local records (the ingest API): preconditions checked in the transaction,
under a lock that orders local writes, then the records' one write path.

Past 400 lines: the locks, the state read pipelined with them, the precondition checks and
the apply step are one transaction's steps and share its connection and error handling.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import zlib
from collections.abc import Callable, Iterable, Sequence
from contextlib import nullcontext
from typing import Any

from sqlalchemy import Integer, bindparam, case, literal_column, or_, select, update
from sqlalchemy.engine import Connection, Row
from sqlalchemy.exc import DBAPIError, IntegrityError

from catalogue.model import LOCAL_SOURCE
from catalogue.store.engine import _CHUNK, _rows_by_id
from catalogue.store.records import _DELETE_RAW, RecordWrites
from catalogue.store.rows import _BY_RID, _RECORDS, _SELECT_RECORDS, _doi_of, _stored_record
from catalogue.store.types import (
    IncomingRecord,
    LocalProblem,
    LocalResult,
    LocalWrite,
    LocalWriteConflict,
    Outcome,
    ProblemKind,
    RecordState,
)
from catalogue.store.write_plan import WritePlan

log = logging.getLogger(__name__)


# Arbitrary constant naming the PostgreSQL advisory lock that orders writes of local records.
_LOCAL_WRITES_LOCK = 0x6361745F6C6F63
# A write of a few records holds _LOCAL_WRITES_LOCK shared and an exclusive lock per record
# id and per DOI it claims, in the advisory locks' other key space (two int4: this
# constant and a CRC-32 of the id or DOI); a larger write holds _LOCAL_WRITES_LOCK
# exclusively, since every lock takes a slot of the server's shared lock table (64 per
# connection by default).
_LOCAL_KEY_SPACE = 0x6361745F
_MAX_KEY_LOCKS = 32
_SQLITE_LOCAL_WRITES = threading.Lock()


class LocalWrites(RecordWrites):
    """Creates, replaces and deletes of deposited records."""

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
                states, holders = self._lock_and_read(conn, writes)
                results = _check_local(writes, states, holders)
                failed = any(result.problem for result in results)
                if dry_run or (atomic and failed) or all(r.problem for r in results):
                    tx.rollback()
                    return results
                ok = [(w, r) for w, r in zip(writes, results, strict=True) if r.problem is None]
                plan = self._apply_local(conn, ok, actor, states, read_back)
                self._log_and_commit(conn, tx, plan)
            except IntegrityError as exc:
                # Only a harvest writing the same id between our check and our insert
                # gets here (harvests do not take the local-writes lock).
                tx.rollback()
                raise LocalWriteConflict("a concurrent write took one of these ids") from exc
            except BaseException:
                tx.rollback()
                raise
        return results

    def _lock_and_read(
        self, conn: Connection, writes: Sequence[LocalWrite]
    ) -> tuple[dict[str, Any], dict[str, str]]:
        """Take the local-write locks, then read what the checks need (``_stored_state``).

        PostgreSQL: BEGIN, the locks and the reads go in one psycopg pipeline (one round
        trip instead of three); the server still runs them in order, each read with a
        snapshot taken after the locks were granted.
        """
        if not (self.is_postgres and self.engine.dialect.driver == "psycopg"):
            self._lock_local_writes(conn, writes)
            return _stored_state(writes, _core_reader(conn))
        lock_sql, lock_params = self._lock_statement(writes)
        raw = conn.connection.dbapi_connection  # the same connection: the same transaction
        try:
            return _stored_state(writes, _pipelined_reader(raw, lock_sql, lock_params))
        except self.engine.dialect.loaded_dbapi.Error as exc:
            # as SQLAlchemy would raise it (a lock_timeout is an OperationalError: 503)
            raise DBAPIError.instance(
                lock_sql, lock_params, exc, self.engine.dialect.loaded_dbapi.Error
            ) from exc

    def _lock_statement(self, writes: Sequence[LocalWrite]) -> tuple[str, dict[str, Any]]:
        keys = _lock_keys(writes)
        if len(keys) > _MAX_KEY_LOCKS:
            return _LOCK_ALL_LOCAL_SQL, {"k": _LOCAL_WRITES_LOCK}
        return _LOCK_LOCAL_KEYS_SQL, {
            "all": _LOCAL_WRITES_LOCK,
            "space": _LOCAL_KEY_SPACE,
            "keys": keys,
        }

    def _lock_local_writes(self, conn: Connection, writes: Sequence[LocalWrite]) -> None:
        """Order this write after every other local write it could conflict with.

        PostgreSQL: two writes conflict when they share a record id or a DOI; writes that
        share neither run side by side (a lock on all local writes made concurrent
        deposits queue for one another's whole transaction, round trips and commit
        included). Locks are taken in one order (the shared lock, then keys ascending),
        so two writers never wait for each other in a cycle.
        """
        if self.is_postgres:
            conn.exec_driver_sql(*self._lock_statement(writes))
        elif self.engine.dialect.name == "sqlite":
            # Take the write lock before reading: a deferred transaction that read first
            # fails with SQLITE_BUSY (no retry) when another writer commits in between.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    def _apply_local(
        self,
        conn: Connection,
        ok: list[tuple[LocalWrite, LocalResult]],
        actor: str | None,
        states: dict[str, Row[Any]],
        read_back: bool,
    ) -> WritePlan:
        """Write ``ok`` and read the written rows back into its results; returns the plan,
        whose change rows the caller appends as it commits."""
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
        plan = self._write_rows(conn, LOCAL_SOURCE, by_id, actor, states)
        outcomes = dict(plan.results)
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
        return plan

    def get_record_state(self, rid: str) -> RecordState | None:
        """A record (tombstones too) with its ETag and who created and last changed it."""
        with self.engine.connect() as conn:
            row = conn.execute(_SELECT_RECORD_STATE, {"rid": rid}).first()
        return _record_state(row) if row is not None else None


def _lock_keys(writes: Sequence[LocalWrite]) -> list[int | None]:
    """The advisory lock keys of these writes, ascending, after a None (for the shared lock
    on all local writes): an int4 per record id and per DOI claimed."""
    names = {f"id:{w.rid}" for w in writes}
    names |= {f"doi:{_doi_of(w.metadata or {})}" for w in writes if w.op != "delete"}
    names.discard("doi:None")
    return [None, *sorted({zlib.crc32(name.encode()) - 2**31 for name in names})]


# Runs _SELECT_STATE_OR_DOI for each chunk of parameters; yields its rows (named columns).
StateReader = Callable[[list[dict[str, list[str]]]], Iterable[Any]]


def _core_reader(conn: Connection) -> StateReader:
    def read(chunks: list[dict[str, list[str]]]) -> Iterable[Any]:
        for params in chunks:
            yield from conn.execute(_SELECT_STATE_OR_DOI, params)

    return read


def _pipelined_reader(raw: Any, lock_sql: str, lock_params: dict[str, Any]) -> StateReader:
    """Sends the locks and every chunk's query into one pipeline of psycopg connection
    ``raw``, and reads the rows once it is synced (after psycopg's BEGIN: two round trips).
    """
    from psycopg.rows import namedtuple_row  # only with the psycopg driver (an extra)

    def read(chunks: list[dict[str, list[str]]]) -> Iterable[Any]:
        cursors = [raw.cursor(row_factory=namedtuple_row) for _ in range(len(chunks) + 1)]
        try:
            with raw.pipeline():
                cursors[0].execute(lock_sql, lock_params)
                for cursor, params in zip(cursors[1:], chunks, strict=True):
                    cursor.execute(_SELECT_STATE_OR_DOI_SQL, params)
            return [row for cursor in cursors[1:] for row in cursor.fetchall()]
        finally:
            for cursor in cursors:
                cursor.close()

    return read


def _stored_state(
    writes: Sequence[LocalWrite], read: StateReader
) -> tuple[dict[str, Any], dict[str, str]]:
    """The stored rows (id, source, deleted, content_hash, version, schema_id,
    schema_version) of the written ids, and the id of the live local record holding each
    DOI the writes carry: one query per chunk of ids and DOIs (a single deposit: one
    round trip, not two)."""
    ids = list(dict.fromkeys(w.rid for w in writes))
    dois = sorted({_doi_of(w.metadata or {}) for w in writes if w.op != "delete"} - {None})
    wanted_ids, wanted_dois = set(ids), set(dois)
    states: dict[str, Any] = {}
    holders: dict[str, str] = {}
    chunks = [
        {"ids": ids[start : start + _CHUNK], "dois": dois[start : start + _CHUNK]}
        for start in range(0, max(len(ids), len(dois)), _CHUNK)
    ]
    for row in read(chunks):
        if row.id in wanted_ids:
            states[row.id] = row
        if row.doi in wanted_dois and row.source == LOCAL_SOURCE and not row.deleted:
            holders.setdefault(row.doi, row.id)
    return states, holders


def _check_local(
    writes: Sequence[LocalWrite], states: dict[str, Row[Any]], holders: dict[str, str]
) -> list[LocalResult]:
    """Each write's problem, if any; ``states`` and ``holders`` from :func:`_stored_state`
    (``holders`` takes the claims of this request's writes as they are checked)."""
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


# psycopg's SQL (the statements run through the driver, in a pipeline).
_LOCK_ALL_LOCAL_SQL = "SELECT pg_advisory_xact_lock(%(k)s)"
# One statement: unnest yields the keys in array order, and the first (None) takes the
# shared lock on all local writes.
_LOCK_LOCAL_KEYS_SQL = (
    "SELECT CASE WHEN k IS NULL THEN pg_advisory_xact_lock_shared(%(all)s::bigint) "
    "ELSE pg_advisory_xact_lock(%(space)s::integer, k) END "
    "FROM unnest(%(keys)s::integer[]) AS k"
)
_SELECT_STATE = select(
    _RECORDS.c.id,
    _RECORDS.c.source,
    _RECORDS.c.deleted,
    _RECORDS.c.content_hash,
    _RECORDS.c.version,
    _RECORDS.c.schema_id,
    _RECORDS.c.schema_version,
).where(_RECORDS.c.id.in_(bindparam("ids", expanding=True)))
_SELECT_STATE_OR_DOI_SQL = (
    "SELECT id, source, deleted, content_hash, version, schema_id, schema_version, doi "
    f"FROM {_RECORDS.name} WHERE id = ANY(%(ids)s::text[]) OR doi = ANY(%(dois)s::text[])"
)
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
# The written ids' rows and the DOIs' holders at once. By DOI alone, filtered in Python:
# with source and deleted in the WHERE clause SQLite walked the source index (every local
# record) instead of the DOI index.
_SELECT_STATE_OR_DOI = select(*_SELECT_STATE.selected_columns, _RECORDS.c.doi).where(
    or_(
        _RECORDS.c.id.in_(bindparam("ids", expanding=True)),
        _RECORDS.c.doi.in_(bindparam("dois", expanding=True)),
    )
)
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
