"""The pure half of the write path: which rows a page of records becomes.

:func:`plan_writes` decides, from the incoming records and the stored state read in the
writing transaction, every row to insert, update, tombstone, delete and log, and each
record's outcome; it touches no database. ``RecordWrites._write_rows`` applies a plan in
one transaction (:meth:`RecordWrites._apply`).
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, NamedTuple

from catalogue.model import (
    canonical_json,
    content_hash_of,
    paged_set_specs_of_kind,
    resource_kind,
)
from catalogue.store.rows import _doi_of
from catalogue.store.types import IncomingRecord, Outcome

# zlib level of stored raw payloads: on payloads of a few KB, level 1 is ~10% faster than 6
# and ~2% larger (measured on the records of benchmarks/store_index_bench.py).
RAW_COMPRESSION_LEVEL = 1


def compress_raw(raw: bytes) -> bytes:
    """zlib with a 4 KiB window and small memLevel: for records of a few KB, setting up the
    default 256 KiB deflate state costs more than compressing (measured 75 vs 14 µs per
    1.5 KB record, same output size). The stream is plain zlib; ``zlib.decompress`` reads it.
    Large payloads get the full window, where it pays for itself.
    """
    if len(raw) > 16384:
        return zlib.compress(raw, RAW_COMPRESSION_LEVEL)
    packer = zlib.compressobj(RAW_COMPRESSION_LEVEL, zlib.DEFLATED, 12, 4)
    return packer.compress(raw) + packer.flush()


class Prepared(NamedTuple):
    """The per-record work of a plan that needs no stored state (:func:`prepare_record`)."""

    metadata_json: str  # canonical JSON: what is hashed and stored
    raw_sha256: bytes | None
    packed_raw: bytes | None  # compress_raw(raw)
    doi: str | None
    kind: str | None  # resource_kind(metadata): the record's type: set


def prepare_record(metadata: dict[str, Any], raw: bytes | None) -> Prepared:
    """What the plan of a record needs of its metadata and raw payload. The store's
    ``preparer``: harvests run it in their mapping worker and hand over the result
    (``IncomingRecord.prepared``) instead of the metadata, which then never travels."""
    return Prepared(
        canonical_json(metadata),
        hashlib.sha256(raw).digest() if raw is not None else None,
        compress_raw(raw) if raw is not None else None,
        _doi_of(metadata),
        resource_kind(metadata),
    )


@dataclass
class WritePlan:
    """The rows of one write, as tuples in the driver's form, in the column orders of
    ``catalogue.store.bulk`` (``_NEW``; ``_CONTENT`` and ``_TOMBSTONE`` then the record
    id; ``_RAW``; ``_SET``; restamps are (datestamp, record id))."""

    results: list[tuple[str, Outcome]] = field(default_factory=list)
    inserts: list[tuple[Any, ...]] = field(default_factory=list)
    updates: list[tuple[Any, ...]] = field(default_factory=list)
    tombstones: list[tuple[Any, ...]] = field(default_factory=list)
    raws: list[tuple[Any, ...]] = field(default_factory=list)
    # updated records whose stored payload gives way to a new one
    replaced_raws: list[str] = field(default_factory=list)
    # updated records whose set rows are deleted, then written again
    reset_sets: list[str] = field(default_factory=list)
    new_sets: list[tuple[Any, ...]] = field(default_factory=list)
    # tombstones: their set rows stay, with the new datestamp
    restamped_sets: list[tuple[Any, Any]] = field(default_factory=list)
    changes: list[tuple[str, str]] = field(default_factory=list)
    # this write's datestamp in the driver's form: the change rows' ``changed_at``
    stamp: Any = None


def plan_writes(
    source: str,
    by_id: dict[str, IncomingRecord],
    existing: dict[str, Any],
    stamp: Any,
    actor: str | None,
    db_datetime: Callable[[Any], Any],
) -> WritePlan:
    """The plan of writing ``by_id`` (records by catalogue id) of ``source``.

    ``existing``: rows (id, source, content_hash, deleted) of the stored ones; ``stamp``:
    this write's datestamp in the driver's form; ``db_datetime`` converts other datetimes.

    A row of another source is never touched: record ids are derived from (source,
    source id), so a foreign row under the id means someone took it first; its outcome is
    ``Outcome.FAILED``. A record whose content hash equals the stored one is
    ``UNCHANGED`` and writes nothing.
    """
    plan = WritePlan(stamp=stamp)
    results = plan.results
    new_sets = plan.new_sets
    for rid, item in by_id.items():
        old = existing.get(rid)
        if old is not None and old.source != source:
            results.append((rid, Outcome.FAILED))
            continue
        if item.deleted:
            if old is None or old.deleted:
                results.append((rid, Outcome.UNCHANGED))
                continue
            plan.tombstones.append(
                (
                    stamp,
                    stamp,
                    db_datetime(item.source_datestamp),
                    True,
                    "deleted:" + old.content_hash[:56],
                    rid,
                )
            )
            plan.changes.append((rid, "delete"))
            results.append((rid, Outcome.DELETED))
            plan.restamped_sets.append((stamp, rid))
            continue
        # serialised once: the text that is hashed is the text that is stored
        raw = item.raw
        # prepared in a mapping worker (then item.metadata is None), or here
        prepared = item.prepared or prepare_record(item.metadata or {}, raw)
        metadata_json, raw_sha256, packed, doi, kind = prepared
        hashed_sets, stored_sets = _sets_json(tuple(item.sets))
        digest = content_hash_of(metadata_json, hashed_sets, False, raw_sha256)
        if old is not None and old.content_hash == digest:
            results.append((rid, Outcome.UNCHANGED))
            continue
        source_datestamp = db_datetime(item.source_datestamp)
        if old is None:
            plan.inserts.append(
                (
                    rid,
                    source,
                    item.source_id,
                    doi,
                    stamp,  # datestamp
                    stamp,  # created_at
                    stamp,  # harvested_at
                    source_datestamp,
                    False,
                    stored_sets,
                    metadata_json,
                    digest,
                    item.raw_format,
                    actor,  # created_by
                    actor,  # updated_by
                )
            )
            results.append((rid, Outcome.ADDED))
        else:
            plan.updates.append(
                (
                    doi,
                    stamp,  # datestamp
                    stamp,  # harvested_at
                    source_datestamp,
                    False,
                    stored_sets,
                    metadata_json,
                    digest,
                    item.raw_format,
                    actor,  # updated_by
                    rid,
                )
            )
            results.append((rid, Outcome.UPDATED))
            plan.reset_sets.append(rid)
        plan.changes.append((rid, "upsert"))
        for spec in paged_set_specs_of_kind(item.sets, kind):
            new_sets.append((rid, spec, stamp))
        if raw is not None:
            plan.raws.append((rid, item.raw_format or "unknown", packed, raw_sha256.hex()))
            if old is not None:
                plan.replaced_raws.append(rid)
    return plan


@lru_cache(maxsize=1024)
def _sets_json(sets: tuple[str, ...]) -> tuple[str, str]:
    """Sets -> (their JSON in ``content_hash``, their JSON as stored); the records of a
    source share a handful of combinations."""
    return json.dumps(sorted(sets)), json.dumps(sorted(set(sets)))
