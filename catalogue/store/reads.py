"""Record reads: one record, records by id, all records in batches, counts, raw
payloads, and the change log the indexer follows."""

from __future__ import annotations

import logging
import zlib
from collections.abc import Iterable, Iterator

from sqlalchemy import func, select

from catalogue.model import Record
from catalogue.store.engine import _CHUNK, StoreBase
from catalogue.store.rows import _RECORDS, _SELECT_BY_IDS, _SELECT_RECORDS, _record, _stored_record
from catalogue.store.types import Change, StoredRecord
from catalogue.tables import ChangeRow, RawPayloadRow, RecordRow

log = logging.getLogger(__name__)


class RecordReads(StoreBase):
    """Reads of records and of the change log."""

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

    def source_metadata(self, source: str, limit: int = 5000) -> list[dict]:
        """The metadata of up to ``limit`` live records of ``source`` (mapping quality)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(_RECORDS.c.metadata)
                .where(_RECORDS.c.source == source, _RECORDS.c.deleted.is_(False))
                .limit(limit)
            ).all()
        return [row[0] if isinstance(row[0], dict) else {} for row in rows]
