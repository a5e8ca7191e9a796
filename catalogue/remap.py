"""`catalogue remap`: today's crosswalks over the stored raw payloads, no network.

The way to apply a crosswalk fix to records already harvested (or deposited as documents):
every live record that kept its raw payload is mapped again; a record whose metadata comes
out different is written through the store's normal write paths (``upsert_page`` for a
harvested source, ``write_local`` for deposits), so it gets a change-log entry (the search
index follows) and a new OAI-PMH datestamp (harvesters of this catalogue see the fix). A
record the crosswalk now refuses keeps what is stored and is reported.

Payloads are re-read by their stored format: the OAI-PMH/deposit XML formats through
``mappings.formats.map_payload``, the REST formats whose crosswalk needs nothing but the
source's config (generic JSON, perfSONAR UNIS), and the dialect deposits (UNIS objects, MDM
records with the configured attribute map, metastore2 documents with their record).
Harvested B2SHARE, SURF and metastore2 records need what their harvest fetched besides the
payload (communities, labels, the record beside the document): they are skipped and
counted, and a ``harvest --full`` applies their fixes.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from catalogue.model import LOCAL_SOURCE
from catalogue.store import IncomingRecord, LocalWrite, Source, Store
from catalogue.store.raw_records import RawRecord, count_raw_records, iter_raw_records
from mappings import Mapped, MappingError
from mappings.formats import FORMATS, map_payload
from mappings.mdm import RAW_FORMAT as MDM_FORMAT
from mappings.mdm import from_mdm_record
from mappings.metastore2 import from_metastore_deposit
from mappings.unis import RAW_FORMAT as UNIS_FORMAT
from mappings.unis import from_unis
from mappings.xml import parse_xml

ACTOR = "remap"
# REST source types whose crosswalk is a pure function of the payload and the source config.
OFFLINE_REST_TYPES = frozenset({"json", "unis"})

Mapper = Callable[[RawRecord], Mapped]
Progress = Callable[[int, int | None], None]


@dataclass
class RemapSummary:
    """What a remap found (and, unless a dry run, wrote)."""

    examined: int = 0
    changed: int = 0
    unchanged: int = 0
    failed: int = 0
    skipped: Counter[str] = field(default_factory=Counter)  # reason -> records
    changed_by_source: Counter[str] = field(default_factory=Counter)
    failures: list[tuple[str, str]] = field(default_factory=list)  # (record id, reason)
    dry_run: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "examined": self.examined,
            "changed": self.changed,
            "unchanged": self.unchanged,
            "failed": self.failed,
            "skipped": sum(self.skipped.values()),
            "changed_by_source": dict(self.changed_by_source),
            "dry_run": self.dry_run,
        }


MAX_FAILURES_KEPT = 50


def _map_xml(record: RawRecord) -> Mapped:
    return map_payload(parse_xml(record.raw))


def _map_unis(record: RawRecord) -> Mapped:
    return from_unis(json.loads(record.raw))


def _map_metastore(record: RawRecord) -> Mapped:
    kept = (record.metadata.get("extra") or {}).get("metastore2", {}).get("record")
    if not isinstance(kept, dict):
        raise MappingError("the deposit's metastore2 record is not stored with it")
    return from_metastore_deposit(kept, record.raw)


class _Mappers:
    """The crosswalk for each (source, raw format), built once per source."""

    def __init__(self, store: Store, settings: dict[str, Any]) -> None:
        self.store = store
        self.settings = settings
        self.sources: dict[str, Source | None] = {}
        self.rest: dict[str, Mapper | str] = {}

    def mapper(self, record: RawRecord) -> Mapper | str:
        """The crosswalk, or why there is none offline."""
        if record.raw_format in FORMATS:
            return _map_xml
        if record.source == LOCAL_SOURCE:
            return self._deposit_mapper(record.raw_format)
        if record.source not in self.rest:
            self.rest[record.source] = self._rest_mapper(record.source)
        return self.rest[record.source]

    def _deposit_mapper(self, raw_format: str) -> Mapper | str:
        if raw_format == UNIS_FORMAT:
            return _map_unis
        if raw_format == MDM_FORMAT:
            attributes = self.settings.get("mdm", {}).get("attributes")
            return lambda record: from_mdm_record(json.loads(record.raw), attributes)
        if raw_format.startswith("metastore2:"):
            return _map_metastore
        return f"no crosswalk for deposited format {raw_format}"

    def _rest_mapper(self, key: str) -> Mapper | str:
        from harvester.rest.core import RestClient
        from harvester.rest.registry import REST_TYPES

        source = self.store.get_source(key)
        if source is None:
            return "source no longer registered"
        if source.type not in OFFLINE_REST_TYPES:
            return f"{source.type} records need a harvest --full (their crosswalk needs more)"
        try:
            client = RestClient(source.url, self.settings["harvest"], source.config, env={})
            harvester = REST_TYPES[source.type].make(client, source.config)
        except Exception as exc:  # noqa: BLE001 - a source config this version cannot read
            return f"{source.type} config not usable offline: {exc}"

        def rest_map(record: RawRecord) -> Mapped:
            return harvester.map(json.loads(record.raw))

        return rest_map


def remap(
    store: Store,
    settings: dict[str, Any],
    *,
    source: str | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
    page_size: int = 500,
) -> RemapSummary:
    """Map every stored raw payload (of ``source``) again; write the records that changed."""
    summary = RemapSummary(dry_run=dry_run)
    mappers = _Mappers(store, settings)
    total = count_raw_records(store.engine, source)
    if progress is not None:
        progress(0, total)
    for page in iter_raw_records(store.engine, source, page_size):
        harvested: dict[str, list[IncomingRecord]] = {}
        local: list[LocalWrite] = []
        for record in page:
            summary.examined += 1
            metadata = _remapped(record, mappers, summary)
            if metadata is None:
                continue
            if metadata == record.metadata:
                summary.unchanged += 1
                continue
            summary.changed += 1
            summary.changed_by_source[record.source] += 1
            if record.source == LOCAL_SOURCE:
                local.append(_local_write(record, metadata))
            else:
                harvested.setdefault(record.source, []).append(_incoming(record, metadata))
        if not dry_run:
            for key, items in harvested.items():
                store.upsert_page(key, items, actor=ACTOR)
            if local:
                store.write_local(local, actor=ACTOR, atomic=False)
        if progress is not None:
            progress(len(page), total)
    return summary


def _remapped(record: RawRecord, mappers: _Mappers, summary: RemapSummary) -> dict | None:
    mapper = mappers.mapper(record)
    if isinstance(mapper, str):
        summary.skipped[mapper] += 1
        return None
    try:
        metadata, _warnings = mapper(record)
    except Exception as exc:  # noqa: BLE001 - one record's failure never stops the remap
        summary.failed += 1
        if len(summary.failures) < MAX_FAILURES_KEPT:
            summary.failures.append((record.id, f"{type(exc).__name__}: {exc}"))
        return None
    return metadata


def _incoming(record: RawRecord, metadata: dict) -> IncomingRecord:
    return IncomingRecord(
        record.source_id,
        metadata,
        sets=record.sets,
        source_datestamp=record.source_datestamp,
        raw=record.raw,
        raw_format=record.raw_format,
    )


def _local_write(record: RawRecord, metadata: dict) -> LocalWrite:
    return LocalWrite(
        rid=record.id,
        op="replace",
        metadata=metadata,
        sets=record.sets,
        raw=record.raw,
        raw_format=record.raw_format,
        schema_id=record.schema_id,
        schema_version=record.schema_version,
    )
