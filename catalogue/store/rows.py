"""Statements and row readers shared by the aggregates: the record columns, and the
conversions of rows into the store's types."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import Integer, Text, bindparam, cast, literal_column, select, update
from sqlalchemy.engine import Row

from catalogue import fastjson
from catalogue.model import Record
from catalogue.store.types import HarvestRun, RunCounts, Source, StoredRecord
from catalogue.tables import HarvestRunRow, RawPayloadRow, RecordRow, RecordSetRow, SourceRow
from mappings.normalize import normalize_doi

log = logging.getLogger(__name__)


_RECORDS = RecordRow.__table__
_RAW_PAYLOADS = RawPayloadRow.__table__
_RECORD_SETS = RecordSetRow.__table__
_BY_RID = _RECORDS.c.id == bindparam("rid")
# Every write of a stored record increments its version (the literal keeps it out of the
# executemany parameters); inserts take the column's default, 1.
_NEXT_VERSION = _RECORDS.c.version + literal_column("1", Integer)
_UPDATE_RECORD = update(_RECORDS).where(_BY_RID).values(version=_NEXT_VERSION)

# Bulk reads (the indexer): plain rows, the metadata as JSON text (parsed once, and kept).
_SELECT_RECORDS = select(
    _RECORDS.c.id,
    _RECORDS.c.source,
    _RECORDS.c.source_id,
    cast(_RECORDS.c["metadata"], Text).label("metadata_json"),
    _RECORDS.c.sets,
    _RECORDS.c.deleted,
    _RECORDS.c.datestamp,
    _RECORDS.c.source_datestamp,
    _RECORDS.c.harvested_at,
    _RECORDS.c.created_at,
    _RECORDS.c.original_format,
)
_SELECT_BY_IDS = _SELECT_RECORDS.where(_RECORDS.c.id.in_(bindparam("ids", expanding=True)))


def _doi_of(metadata: dict[str, Any]) -> str | None:
    for ident in metadata.get("identifiers", ()):
        if ident.get("identifierType") == "DOI":  # compared normalised: doi:, https://doi.org/
            return normalize_doi(ident["identifier"]) or ident["identifier"].strip().lower()
    return None


def _source(row: SourceRow) -> Source:
    return Source(
        key=row.key,
        type=row.type,
        url=row.url,
        metadata_prefix=row.metadata_prefix,
        sets=list(row.sets or []),
        config=dict(row.config or {}),
        enabled=row.enabled,
        created_at=row.created_at,
        harvest_from=row.harvest_from,
        granularity=row.granularity,
        schedule=row.schedule,
    )


def _envelope(row: Any) -> dict[str, Any]:
    """The Record fields other than metadata, from an ORM row or a Core row alike."""
    return {
        "id": row.id,
        "source": row.source,
        "source_id": row.source_id,
        "sets": list(row.sets or []),
        "deleted": row.deleted,
        "datestamp": row.datestamp,
        "source_datestamp": row.source_datestamp,
        "harvested_at": row.harvested_at,
        "created_at": row.created_at,
        "original_format": row.original_format,
    }


def _record(row: RecordRow) -> Record:
    return Record(metadata=row.meta or {}, **_envelope(row))


def _stored_record(row: Row[Any]) -> StoredRecord:
    metadata_json = row.metadata_json
    metadata = fastjson.loads(metadata_json)
    if not metadata:  # as in _record: no metadata reads as {}
        metadata, metadata_json = {}, "{}"
    return StoredRecord(metadata=metadata, metadata_json=metadata_json, **_envelope(row))


def _run(row: HarvestRunRow) -> HarvestRun:
    return HarvestRun(
        id=row.id,
        source=row.source,
        mode=row.mode,
        status=row.status,
        started_at=row.started_at,
        finished_at=row.finished_at,
        from_date=row.from_date,
        response_date=row.response_date,
        counts=RunCounts(
            row.added, row.updated, row.unchanged, row.deleted, row.failed, row.warnings
        ),
        message=row.message,
    )
