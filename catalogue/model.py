"""The canonical record: DataCite-shaped metadata in a catalogue envelope.

The metadata half is validated by ``schemas/canonical-metadata.json`` (DataCite 4.x JSON
attribute names); the envelope is what the catalogue itself knows about a record.
"""

from __future__ import annotations

import hashlib
import json
from base64 import b32encode
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache, lru_cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator

# setSpec syntax is the harvester's sink contract; re-exported for the provider and ingest.
from harvester.sink import MAX_SET_SPEC_CHARS as MAX_SET_SPEC_CHARS
from harvester.sink import SET_SPEC as SET_SPEC

LOCAL_SOURCE = "local"


def set_specs(sets: list[str] | tuple[str, ...], metadata: dict[str, Any]) -> list[str]:
    """Every OAI-PMH setSpec a record belongs to: its own sets, their ancestors, its type.

    ``source:zenodo:user-x`` implies ``source:zenodo`` and ``source`` (OAI-PMH: a record in
    a set is in every set above it); the DataCite resourceTypeGeneral gives ``type:<T>``.
    """
    return list(_set_specs(tuple(sets), _kind(metadata)))


ROOT_SETS = frozenset({"source", "type"})
"""Top-level sets that hold every record: the provider reads them as "no set restriction"."""


def paged_set_specs(sets: list[str] | tuple[str, ...], metadata: dict[str, Any]) -> list[str]:
    """The setSpecs the store keeps ``record_sets`` rows for: all but the :data:`ROOT_SETS`."""
    return list(_paged_set_specs(tuple(sets), _kind(metadata)))


def paged_set_specs_of_kind(sets: list[str] | tuple[str, ...], kind: str | None) -> list[str]:
    """:func:`paged_set_specs` of a record whose metadata's kind (:func:`resource_kind`) is
    ``kind``."""
    return list(_paged_set_specs(tuple(sets), kind))


def resource_kind(metadata: dict[str, Any]) -> str | None:
    """The record's ``types.resourceTypeGeneral`` (its ``type:`` set), None without one."""
    return _kind(metadata)


def _kind(metadata: dict[str, Any]) -> str | None:
    kind = (metadata.get("types") or {}).get("resourceTypeGeneral")
    return kind if isinstance(kind, str) and kind else None


# The records of a source share a handful of (sets, type) combinations: computed once each
# (the store asks for every record it writes).
@lru_cache(maxsize=4096)
def _set_specs(sets: tuple[str, ...], kind: str | None) -> tuple[str, ...]:
    specs: set[str] = set()
    for spec in sets:
        parts = spec.split(":")
        specs.update(":".join(parts[:n]) for n in range(1, len(parts) + 1))
    if kind:
        specs.update(("type", f"type:{kind}"))
    return tuple(sorted(specs))


@lru_cache(maxsize=4096)
def _paged_set_specs(sets: tuple[str, ...], kind: str | None) -> tuple[str, ...]:
    return tuple(spec for spec in _set_specs(sets, kind) if spec not in ROOT_SETS)


@dataclass(frozen=True)
class FieldError:
    """One failing field: a JSON pointer into the document and a human message."""

    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


@dataclass
class Record:
    """A canonical record as the store hands it out."""

    id: str
    source: str
    source_id: str
    metadata: dict[str, Any]
    sets: list[str] = field(default_factory=list)
    deleted: bool = False
    datestamp: datetime | None = None
    source_datestamp: datetime | None = None
    harvested_at: datetime | None = None
    created_at: datetime | None = None
    original_format: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON form used by the API and the search documents."""
        return {
            "id": self.id,
            "source": self.source,
            "source_id": self.source_id,
            "deleted": self.deleted,
            "sets": list(self.sets),
            "datestamp": _iso(self.datestamp),
            "source_datestamp": _iso(self.source_datestamp),
            "harvested_at": _iso(self.harvested_at),
            "created_at": _iso(self.created_at),
            "original": {"format": self.original_format},
            "metadata": self.metadata,
        }


def _iso(value: datetime | None) -> str | None:
    if not value:
        return None
    if value.tzinfo is None:  # stored datestamps are naive UTC
        return _naive_iso(value)
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


# The records of a page share their datestamps (the indexer formats four per record). Only
# naive values are cached: aware ones equal across time zones would share an entry.
@lru_cache(maxsize=1024)
def _naive_iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def record_id(source: str, source_id: str) -> str:
    """Catalogue-wide id, derived from (source, source id) so a rebuilt store gets the same ids.

    Base32 of a keyed hash keeps it URL-safe and valid as the local part of an OAI identifier.
    """
    digest = hashlib.blake2b(f"{source}\n{source_id}".encode(), digest_size=10).digest()
    return b32encode(digest).decode("ascii").lower()


# Metadata is a tree (parsed JSON or a mapping's output): no cycle check needed, which
# with a reused encoder makes it ~20% faster than json.dumps(..., sort_keys=True).
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), check_circular=False)


def canonical_json(metadata: dict[str, Any]) -> str:
    """The metadata's canonical JSON text (sorted keys, compact, ASCII): what ``content_hash``
    hashes, and what the store keeps, so a record is serialised once on its way in."""
    return _CANONICAL.encode(metadata)


def content_hash(
    metadata: dict[str, Any], sets: list[str], deleted: bool, raw: bytes | None
) -> str:
    """Fingerprint of everything that, when changed, must reach the change log."""
    return content_hash_of(
        canonical_json(metadata),
        json.dumps(sorted(sets)),
        deleted,
        hashlib.sha256(raw).digest() if raw is not None else None,
    )


def content_hash_of(
    metadata_json: str, sets_json: str, deleted: bool, raw_sha256: bytes | None
) -> str:
    """``content_hash`` from the serialised parts a writer has at hand anyway.

    ``metadata_json`` is ``canonical_json(metadata)``, ``sets_json`` is
    ``json.dumps(sorted(sets))`` and ``raw_sha256`` the raw payload's SHA-256 digest (None
    without a payload).
    """
    h = hashlib.sha256(metadata_json.encode())
    h.update(sets_json.encode())
    h.update(b"D" if deleted else b"L")
    if raw_sha256 is not None:
        h.update(raw_sha256)
    return h.hexdigest()


@cache
def metadata_schema() -> dict[str, Any]:
    text = resources.files("catalogue").joinpath("schemas/canonical-metadata.json").read_text()
    return json.loads(text)


@cache
def _validator() -> Draft202012Validator:
    return Draft202012Validator(metadata_schema())


def validate_metadata(metadata: Any) -> list[FieldError]:
    """Every schema violation of ``metadata``, each with a JSON pointer; empty when valid."""
    errors = []
    for err in sorted(_validator().iter_errors(metadata), key=lambda e: list(e.absolute_path)):
        pointer = "/metadata" + "".join(f"/{_escape(p)}" for p in err.absolute_path)
        errors.append(FieldError(pointer, _readable(err.message, err.instance)))
    return errors


def _readable(message: str, instance: Any) -> str:
    """jsonschema's message with a long value in it cut short: "'NNN…' is too long" (cut
    as a whole, the message would lose its reason at the end)."""
    if len(message) <= _MESSAGE_VALUE_CHARS:
        return message
    shown = repr(instance)
    if len(shown) <= _MESSAGE_VALUE_CHARS or shown not in message:
        return message
    return message.replace(shown, f"{shown[:_MESSAGE_VALUE_CHARS]}… ({len(shown)} characters)")


_MESSAGE_VALUE_CHARS = 80


def _escape(part: Any) -> str:
    return str(part).replace("~", "~0").replace("/", "~1")
