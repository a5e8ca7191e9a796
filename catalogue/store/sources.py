"""Harvest sources: registration, settings, removal (its records become tombstones)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from catalogue.store.engine import StoreBase
from catalogue.store.rows import _source
from catalogue.store.types import Source, SourceExists, SourceNotFound
from catalogue.tables import RecordRow, RecordSetRow, SourceRow
from harvester import clock

log = logging.getLogger(__name__)


class Sources(StoreBase):
    """The sources aggregate."""

    def add_source(
        self,
        key: str,
        type: str,
        url: str,
        metadata_prefix: str | None = None,
        sets: Sequence[str] = (),
        config: dict[str, Any] | None = None,
        schedule: str | None = None,
        enabled: bool = True,
    ) -> Source:
        row = SourceRow(
            key=key,
            type=type,
            url=url,
            metadata_prefix=metadata_prefix,
            sets=list(sets),
            config=config or {},
            enabled=enabled,
            schedule=schedule,
            created_at=clock.utcnow(),
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
            now = clock.utcnow()
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
                self._log_changes(
                    s.connection(), [(i, "delete") for i in ids], self._db_datetime(now)
                )
            s.execute(delete(SourceRow).where(SourceRow.key == key))
            return len(ids)
