"""Plain DB-API bulk statements, compiled once per store: the hot path of every harvest.

Rows are written with executemany (or COPY on PostgreSQL) of statements compiled once, with
values already in the driver's form: SQLAlchemy's per-row parameter processing cost more
than SQLite's own work."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, bindparam, insert, update
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.sql.dml import Insert, Update

from catalogue.store.rows import _RAW_PAYLOADS, _RECORD_SETS, _RECORDS, _UPDATE_RECORD
from catalogue.tables import ChangeRow

log = logging.getLogger(__name__)


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


# Rows below which an INSERT beats COPY: COPY takes two round trips (start, then data and
# end), an executemany one, and a deposit of one record writes three tables.
COPY_MIN_ROWS = 8


class _InsertMany:
    """An INSERT of many rows: COPY ... FROM STDIN with psycopg (3x faster than pipelined
    INSERTs for small rows), else (and for a few rows) the driver's executemany
    (``_ExecuteMany``)."""

    def __init__(self, table: Table, keys: Sequence[str], dialect: Dialect) -> None:
        self.keys = list(keys)
        self.copy_sql = None
        if dialect.name == "postgresql" and dialect.driver == "psycopg":
            quote = dialect.identifier_preparer.quote
            columns = ", ".join(quote(key) for key in self.keys)
            self.copy_sql = f"COPY {quote(table.name)} ({columns}) FROM STDIN"
        self.many = _ExecuteMany(insert(table), self.keys, dialect)

    def __call__(self, conn: Connection, rows: list[dict[str, Any]]) -> None:
        if self.copy_sql is None or len(rows) < COPY_MIN_ROWS:
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
