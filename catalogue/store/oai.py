"""The OAI-PMH provider's reads: keyset pages over (datestamp, id), counts, set specs."""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

from sqlalchemy import Text, cast, func, select, text, tuple_
from sqlalchemy.engine import Row

from catalogue.model import ROOT_SETS, set_specs
from catalogue.store.engine import StoreBase
from catalogue.store.rows import _RECORD_SETS, _RECORDS
from catalogue.store.types import OaiEntry

log = logging.getLogger(__name__)


class OaiReads(StoreBase):
    """Reads of the OAI-PMH provider (the store, never the index)."""

    def oai_page(
        self,
        *,
        after: tuple[datetime, str] | None,
        from_: datetime | None,
        until: datetime | None,
        spec: str | None,
        limit: int,
        with_metadata: bool,
    ) -> list[OaiEntry]:
        """Up to ``limit`` records (tombstones too) in (datestamp, id) order after ``after``.

        A keyset walk over the (datestamp, id) index, or over record_sets' (spec,
        datestamp, record_id) index for a set: a page deep in the list costs what the
        first one does. ``spec`` in ROOT_SETS (or None) means no set restriction.
        """
        stmt = _oai_select(spec, with_metadata)
        stamp, rid = _oai_keys(spec)
        if after is not None:
            # ``after`` lies inside [from_, until] already: one lower bound is enough.
            stmt = stmt.where(tuple_(stamp, rid) > tuple_(*after))
        elif from_ is not None:
            stmt = stmt.where(stamp >= from_)
        if until is not None:
            stmt = stmt.where(stamp <= until)
        if spec is not None and spec not in ROOT_SETS:
            stmt = stmt.where(_RECORD_SETS.c.spec == spec)
        stmt = stmt.order_by(stamp, rid).limit(limit)
        with self.engine.connect() as conn:
            return [_oai_entry(row, with_metadata) for row in conn.execute(stmt)]

    def oai_entry(self, rid: str) -> OaiEntry | None:
        """One record (or tombstone) with its metadata, for GetRecord."""
        stmt = _oai_select(None, True).where(_RECORDS.c.id == rid)
        with self.engine.connect() as conn:
            row = conn.execute(stmt).first()
        return _oai_entry(row, True) if row is not None else None

    def oai_count(self, *, from_: datetime | None, until: datetime | None, spec: str | None) -> int:
        """How many records (tombstones too) a list request matches: an index-only count,
        which the provider runs once per harvest, on its first page."""
        stamp, _ = _oai_keys(spec)
        stmt = select(func.count()).select_from(stamp.table)
        if spec is not None and spec not in ROOT_SETS:
            stmt = stmt.where(_RECORD_SETS.c.spec == spec)
        if from_ is not None:
            stmt = stmt.where(stamp >= from_)
        if until is not None:
            stmt = stmt.where(stamp <= until)
        with self.engine.connect() as conn:
            return conn.execute(stmt).scalar_one()

    def oai_earliest_datestamp(self) -> datetime | None:
        """The oldest datestamp of any record or tombstone (one probe of the index)."""
        with self.engine.connect() as conn:
            return conn.execute(select(func.min(_RECORDS.c.datestamp))).scalar()

    def oai_set_specs(self) -> list[str]:
        """Every setSpec some record is in, ROOT_SETS excepted, sorted.

        A loose index scan (one index probe per distinct spec) rather than DISTINCT,
        which would read every row of record_sets.
        """
        with self.engine.connect() as conn:
            return [row[0] for row in conn.execute(_DISTINCT_SPECS)]


def _oai_keys(spec: str | None) -> tuple[Any, Any]:
    """The (datestamp, id) columns a list walks: record_sets' copy for a set, so the whole
    walk stays on the (spec, datestamp, record_id) index."""
    if spec is not None and spec not in ROOT_SETS:
        return _RECORD_SETS.c.datestamp, _RECORD_SETS.c.record_id
    return _RECORDS.c.datestamp, _RECORDS.c.id


def _oai_select(spec: str | None, with_metadata: bool) -> Any:
    columns = [
        _RECORDS.c.id,
        _RECORDS.c.datestamp,
        _RECORDS.c.deleted,
        _RECORDS.c.sets,
        _RECORDS.c.source,
        _RECORDS.c.source_id,
        _RECORDS.c.source_datestamp,
        _RECORDS.c.harvested_at,
        _RECORDS.c.original_format,
    ]
    if with_metadata:
        columns.append(cast(_RECORDS.c["metadata"], Text).label("metadata_json"))
    else:
        # headers need only the resource type (for the type:<T> setSpec)
        kind = _RECORDS.c["metadata"][("types", "resourceTypeGeneral")].as_string()
        columns.append(kind.label("kind"))
    stmt = select(*columns)
    if spec is not None and spec not in ROOT_SETS:
        stmt = stmt.select_from(
            _RECORD_SETS.join(_RECORDS, _RECORDS.c.id == _RECORD_SETS.c.record_id)
        )
    return stmt


def _oai_entry(row: Row[Any], with_metadata: bool) -> OaiEntry:
    if with_metadata:
        metadata = json.loads(row.metadata_json) if row.metadata_json else None
        specs = set_specs(row.sets or [], metadata or {})
    else:
        metadata = None
        specs = set_specs(row.sets or [], {"types": {"resourceTypeGeneral": row.kind}})
    return OaiEntry(
        id=row.id,
        datestamp=row.datestamp,
        deleted=row.deleted,
        set_specs=specs,
        metadata=metadata or {} if with_metadata else None,
        source=row.source,
        source_id=row.source_id,
        source_datestamp=row.source_datestamp,
        harvested_at=row.harvested_at,
        original_format=row.original_format,
    )


# Emulates a loose index scan on both SQLite and PostgreSQL: each step seeks the next spec.
_DISTINCT_SPECS = text(
    "WITH RECURSIVE specs(spec) AS ("
    " SELECT MIN(spec) FROM record_sets"
    " UNION ALL"
    " SELECT (SELECT MIN(r.spec) FROM record_sets r WHERE r.spec > specs.spec)"
    " FROM specs WHERE specs.spec IS NOT NULL"
    ") SELECT spec FROM specs WHERE spec IS NOT NULL"
)
