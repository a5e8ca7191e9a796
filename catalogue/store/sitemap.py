"""Reads for the sitemap: the live records' ids and datestamps, in id order, by file."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from sqlalchemy import Engine, func, select

from catalogue.tables import RecordRow

_BATCH = 5000


def count_live(engine: Engine) -> int:
    stmt = select(func.count()).select_from(RecordRow).where(RecordRow.deleted.is_(False))
    with engine.connect() as conn:
        return conn.scalar(stmt) or 0


def live_entries(engine: Engine, *, skip: int, limit: int) -> Iterator[tuple[str, datetime]]:
    """(id, datestamp) of the live records after the first ``skip``, at most ``limit``,
    read in keyset batches (one offset to find the start, then by id)."""
    base = select(RecordRow.id, RecordRow.datestamp).where(RecordRow.deleted.is_(False))
    last: str | None = None
    left = limit
    while left > 0:
        stmt = base.order_by(RecordRow.id).limit(min(_BATCH, left))
        stmt = stmt.where(RecordRow.id > last) if last is not None else stmt.offset(skip)
        with engine.connect() as conn:
            rows = conn.execute(stmt).all()
        if not rows:
            return
        for row in rows:
            yield row.id, row.datestamp
        last = rows[-1].id
        left -= len(rows)
