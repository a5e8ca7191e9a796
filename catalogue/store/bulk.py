"""Plain DB-API bulk statements, compiled once per store: the hot path of every harvest.

Rows are written with executemany (or COPY on PostgreSQL) of statements compiled once, with
values already in the driver's form (tuples in a fixed column order): SQLAlchemy's per-row
parameter processing cost more than SQLite's own work."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import Table, bindparam, insert, update
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.sql.dml import Insert, Update

from catalogue.store.rows import _RAW_PAYLOADS, _RECORD_SETS, _RECORDS, _UPDATE_RECORD
from catalogue.tables import ChangeRow

log = logging.getLogger(__name__)


# The columns of each kind of row, in the order of the tuples ``plan_writes`` builds (the
# table's order, which is SQLite's parameter order, so its rows go to the driver as they are).
_NEW = (
    "id",
    "source",
    "source_id",
    "doi",
    "datestamp",
    "created_at",
    "harvested_at",
    "source_datestamp",
    "deleted",
    "sets",
    "metadata",
    "content_hash",
    "original_format",
    "created_by",
    "updated_by",
)
# updates: these columns, then the record id (``rid``)
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
_TOMBSTONE = ("datestamp", "harvested_at", "source_datestamp", "deleted", "content_hash")
_RAW = ("record_id", "format", "content", "sha256")
_CHANGE = ("record_id", "op", "changed_at")
_SET = ("record_id", "spec", "datestamp")


class _ExecuteMany:
    """An INSERT or UPDATE run for many rows straight through the driver's executemany.

    Compiled once for the columns in ``keys``, with the dialect's own SQL (PostgreSQL gets
    its ``::JSONB`` casts, so JSON columns take text). Rows are tuples of driver-ready
    values (JSON as text, datetimes through ``Store._db_datetime``) in the order of
    ``keys``, then of ``where`` (the bound parameters of an UPDATE's WHERE clause).
    Tuples rather than dicts: building a dict per row, then the driver's tuple from it,
    was a fifth of the writer's own Python time.
    """

    def __init__(
        self,
        statement: Insert | Update,
        keys: Sequence[str],
        dialect: Dialect,
        where: Sequence[str] = (),
    ) -> None:
        compiled = statement.compile(dialect=dialect, column_keys=list(keys))
        self.sql = compiled.string
        order = [*keys, *where]
        self.names: tuple[str, ...] | None = None
        self.reorder: Any = None
        if compiled.positiontup is None:  # named paramstyle (psycopg): dicts
            self.names = tuple(order)
        elif list(compiled.positiontup) != order:
            at = [order.index(name) for name in compiled.positiontup]
            self.reorder = itemgetter(*at) if len(at) > 1 else lambda row: (row[at[0]],)

    def __call__(self, conn: Connection, rows: list[tuple[Any, ...]]) -> None:
        if self.names is not None:
            names = self.names
            conn.exec_driver_sql(self.sql, [dict(zip(names, row, strict=True)) for row in rows])
        elif self.reorder is not None:
            conn.exec_driver_sql(self.sql, list(map(self.reorder, rows)))
        else:
            conn.exec_driver_sql(self.sql, rows)


# Rows below which an INSERT beats COPY: COPY takes two round trips (start, then data and
# end), an executemany one, and a deposit of one record writes three tables.
COPY_MIN_ROWS = 8


class _InsertMany:
    """An INSERT of many rows (tuples in the order of ``keys``): COPY ... FROM STDIN with
    psycopg (3x faster than pipelined INSERTs for small rows), else (and for a few rows)
    the driver's executemany (``_ExecuteMany``)."""

    def __init__(self, table: Table, keys: Sequence[str], dialect: Dialect) -> None:
        self.keys = list(keys)
        self.copy_sql = None
        if dialect.name == "postgresql" and dialect.driver == "psycopg":
            quote = dialect.identifier_preparer.quote
            columns = ", ".join(quote(key) for key in self.keys)
            self.copy_sql = f"COPY {quote(table.name)} ({columns}) FROM STDIN"
        # inline: no RETURNING of a generated key (the change log's seq) nobody reads
        self.many = _ExecuteMany(insert(table).inline(), self.keys, dialect)

    def __call__(self, conn: Connection, rows: list[tuple[Any, ...]]) -> None:
        if self.copy_sql is None or len(rows) < COPY_MIN_ROWS:
            self.many(conn, rows)
            return
        cursor = conn.connection.cursor()  # the same connection, so the same transaction
        try:
            with cursor.copy(self.copy_sql) as copy:
                for row in rows:
                    copy.write_row(row)
        finally:
            cursor.close()


class _PageWriter:
    """The compiled page writes of one store (one dialect)."""

    def __init__(self, dialect: Dialect) -> None:
        self.insert_records = _InsertMany(_RECORDS, _NEW, dialect)
        self.update_records = _ExecuteMany(_UPDATE_RECORD, _CONTENT, dialect, ("rid",))
        self.tombstone_records = _ExecuteMany(_UPDATE_RECORD, _TOMBSTONE, dialect, ("rid",))
        self.insert_raws = _InsertMany(_RAW_PAYLOADS, _RAW, dialect)
        self.insert_changes = _InsertMany(ChangeRow.__table__, _CHANGE, dialect)
        self.insert_sets = _InsertMany(_RECORD_SETS, _SET, dialect)
        self.restamp_sets = _ExecuteMany(
            update(_RECORD_SETS).where(_RECORD_SETS.c.record_id == bindparam("rid")),
            ("datestamp",),
            dialect,
            ("rid",),
        )
