"""Stored records with their raw payloads, read in keyset pages (for `catalogue remap`).

Only live records that kept a raw payload are read: a harvested record's payload as the
source sent it, or a deposited document. Pages are keyed by record id, so the cost of a
page does not grow with how far the walk has come, and memory stays at one page.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from catalogue.tables import RawPayloadRow, RecordRow


@dataclass(frozen=True)
class RawRecord:
    """A live record, its stored metadata and the raw payload it was mapped from."""

    id: str
    source: str
    source_id: str
    sets: list[str]
    source_datestamp: datetime | None
    metadata: dict[str, Any]
    schema_id: str | None
    schema_version: int | None
    raw_format: str
    raw: bytes


def count_raw_records(engine: Engine, source: str | None = None) -> int:
    """How many live records of ``source`` (all sources: None) have a raw payload."""
    query = (
        select(func.count())
        .select_from(RecordRow)
        .join(RawPayloadRow, RawPayloadRow.record_id == RecordRow.id)
        .where(RecordRow.deleted.is_(False))
    )
    if source is not None:
        query = query.where(RecordRow.source == source)
    with Session(engine) as session:
        return session.scalar(query) or 0


def iter_raw_records(
    engine: Engine, source: str | None = None, page_size: int = 500
) -> Iterator[list[RawRecord]]:
    """Pages of live records with raw payloads, in record-id order."""
    after = ""
    while True:
        query = (
            select(RecordRow, RawPayloadRow.format, RawPayloadRow.content)
            .join(RawPayloadRow, RawPayloadRow.record_id == RecordRow.id)
            .where(RecordRow.deleted.is_(False), RecordRow.id > after)
            .order_by(RecordRow.id)
            .limit(page_size)
        )
        if source is not None:
            query = query.where(RecordRow.source == source)
        with Session(engine) as session:
            page = [
                RawRecord(
                    id=row.id,
                    source=row.source,
                    source_id=row.source_id,
                    sets=list(row.sets or []),
                    source_datestamp=row.source_datestamp,
                    metadata=row.meta,
                    schema_id=row.schema_id,
                    schema_version=row.schema_version,
                    raw_format=fmt,
                    raw=zlib.decompress(content),
                )
                for row, fmt, content in session.execute(query)
            ]
        if not page:
            return
        yield page
        after = page[-1].id
