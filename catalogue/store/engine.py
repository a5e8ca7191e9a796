"""The engine and what every aggregate of the store shares: sessions, the dialect's
datetime form, chunked reads by id."""

from __future__ import annotations

import logging
import select
from collections.abc import Sequence
from typing import Any

from sqlalchemy import DateTime, create_engine, event
from sqlalchemy.engine import Connection, Engine, Row, make_url
from sqlalchemy.exc import DisconnectionError, OperationalError
from sqlalchemy.orm import sessionmaker

log = logging.getLogger(__name__)


def create_store_engine(url: str, **kwargs: Any) -> Engine:
    """An engine configured for the catalogue: SQLite gets WAL, a busy timeout and FKs.

    SQLite checkpoints its WAL every 64 MB rather than every 4 MB: a page of records dirties
    ~2,000 pages (records have random ids, so every id index is written all over), so the
    default checkpointed after nearly every commit and copied the same index pages back into
    the database again and again (upserts were ~35% slower at 100k records). A larger page
    cache or mmap made no measurable difference and only cost memory.
    """
    if url.startswith("sqlite"):
        # Writers queue for SQLite's one write lock at most this long (``?timeout=`` in the
        # URL, seconds); past it the write fails as is_lock_timeout(): the API answers 503
        # with Retry-After, a harvest stores its page again (RunState.store).
        timeout = float(make_url(url).query.get("timeout", DEFAULT_LOCK_TIMEOUT))
        engine = create_engine(url, connect_args={"timeout": timeout}, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
            cur.execute("PRAGMA wal_autocheckpoint=16384")  # pages of 4 KiB
            cur.close()

        return engine
    if make_url(url).get_driver_name() != "psycopg":
        return create_engine(url, pool_pre_ping=True, **kwargs)
    engine = create_engine(url, **kwargs)
    event.listen(engine, "checkout", _ping_if_readable)
    return engine


def _ping_if_readable(dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
    """A pooled psycopg connection is pinged only when its socket has something to read.

    An idle connection gets nothing from the server unless the server is ending it (a
    restart, pg_terminate_backend, idle_session_timeout: a "terminating connection"
    message, then end of file), so an empty socket needs no round trip; ``pool_pre_ping``
    sent one per checkout, three per deposit (~10% of its CPU, ~15% of its time).
    A failed ping makes the pool replace the connection, as ``pool_pre_ping`` does.
    """
    try:
        if dbapi_conn.closed or _socket_readable(dbapi_conn.pgconn.socket):
            with dbapi_conn.cursor() as cursor:
                cursor.execute("SELECT 1")
            dbapi_conn.rollback()
    except Exception as exc:
        raise DisconnectionError(f"pooled connection is gone: {exc}") from exc


def _socket_readable(fd: int) -> bool:
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(fd, select.POLLIN | select.POLLERR | select.POLLHUP)
        return bool(poller.poll(0))
    return bool(select.select([fd], [], [], 0)[0])  # Windows: no poll()


DEFAULT_LOCK_TIMEOUT = 30.0
"""Seconds a SQLite writer waits for the write lock unless the URL says ``?timeout=``."""


def is_lock_timeout(exc: BaseException) -> bool:
    """Whether ``exc`` is a write that could not get the database's lock in time (SQLite's
    "database is locked"; PostgreSQL's lock_timeout), so trying again later may succeed."""
    if not isinstance(exc, OperationalError):
        return False
    text = str(exc.orig).lower()
    return (
        "database is locked" in text
        or "database table is locked" in text
        or ("lock timeout" in text)
    )


# Ids per IN (...) list: far below every backend's bound-parameter limit.
_CHUNK = 500


def _same(value: Any) -> Any:
    return value


class StoreBase:
    """One SQLAlchemy engine and the per-dialect pieces every aggregate uses."""

    def __init__(self, url_or_engine: str | Engine) -> None:
        if isinstance(url_or_engine, Engine):
            self.engine = url_or_engine
        else:
            self.engine = create_store_engine(url_or_engine)
        self._session = sessionmaker(self.engine, expire_on_commit=False)
        dialect = self.engine.dialect
        self.is_postgres = dialect.name == "postgresql"
        # datetime -> the driver's form (SQLite: SQLAlchemy's text format); None stays None
        self._db_datetime = DateTime().dialect_impl(dialect).bind_processor(dialect) or _same

    def is_busy(self, exc: BaseException) -> bool:
        """Whether ``exc`` is a write that timed out waiting for the database's lock."""
        return is_lock_timeout(exc)

    def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision (creates it on a new database)."""
        from catalogue.migrate import upgrade

        upgrade(self.engine)

    def dispose(self) -> None:
        self.engine.dispose()


def _rows_by_id(conn: Connection, stmt: Any, ids: Sequence[str]) -> dict[str, Row[Any]]:
    """The rows of ``stmt`` (selecting ``id``, filtering on an expanding ``ids``), by id."""
    ids = list(dict.fromkeys(ids))
    found: dict[str, Row[Any]] = {}
    for start in range(0, len(ids), _CHUNK):
        for row in conn.execute(stmt, {"ids": ids[start : start + _CHUNK]}):
            found[row.id] = row
    return found
