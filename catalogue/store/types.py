"""The store's public types: the harvester's vocabulary (re-exported) and the store's own."""

from __future__ import annotations

import enum
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from catalogue.model import Record
from harvester.sink import HarvestRun as HarvestRun
from harvester.sink import IncomingRecord as IncomingRecord
from harvester.sink import Outcome as Outcome
from harvester.sink import RunCounts as RunCounts
from harvester.sink import RunError as RunError
from harvester.sink import SinkError
from harvester.sink import Source as Source
from harvester.sink import SourceNotFound as SourceNotFound

log = logging.getLogger(__name__)


StoreError = SinkError
"""Base of the store's own errors (the sink's error base, so SourceNotFound is one)."""


class SourceExists(StoreError):
    pass


@dataclass
class StoredRecord(Record):
    """A record as read in bulk from the store, with its metadata's JSON text as stored.

    Search documents embed that text instead of serialising the metadata once more.
    """

    metadata_json: str = field(kw_only=True, repr=False, compare=False)


@dataclass(frozen=True)
class Change:
    seq: int
    record_id: str
    op: str


@dataclass(frozen=True, slots=True)
class OaiEntry:
    """What the OAI-PMH provider shows of one record: header fields, metadata (when asked
    for, parsed once) and the provenance of harvested records."""

    id: str
    datestamp: datetime
    deleted: bool
    set_specs: list[str]
    metadata: dict[str, Any] | None
    source: str
    source_id: str
    source_datestamp: datetime | None
    harvested_at: datetime | None
    original_format: str | None


class LocalWriteConflict(StoreError):
    """A write lost a race that the checks inside its transaction could not see."""


class ProblemKind(enum.StrEnum):
    ID_TAKEN = "id_taken"
    NOT_FOUND = "not_found"
    GONE = "gone"
    NOT_LOCAL = "not_local"
    STALE = "stale"
    DOI_TAKEN = "doi_taken"


@dataclass(frozen=True)
class LocalProblem:
    kind: ProblemKind
    message: str


@dataclass
class LocalWrite:
    """One write of a local record: ``op`` is "create", "replace" or "delete".

    ``expected_etags`` (replace, delete) are the ETags the client last saw; None skips
    the comparison (``If-Match: *``: any current version will do).
    """

    rid: str
    op: str
    metadata: dict[str, Any] | None = None
    sets: Sequence[str] = ()
    raw: bytes | None = None
    raw_format: str | None = None
    schema_id: str | None = None
    schema_version: int | None = None
    expected_etags: frozenset[str] | None = None


@dataclass
class LocalResult:
    rid: str
    outcome: Outcome | None = None
    etag: str | None = None
    problem: LocalProblem | None = None
    state: RecordState | None = None  # the record as stored (``read_back`` only)


@dataclass
class RecordState:
    record: Record
    etag: str
    created_by: str | None
    updated_by: str | None
    schema_id: str | None
    schema_version: int | None


@dataclass(frozen=True)
class ApiToken:
    id: int
    name: str
    role: str
    created_at: datetime
    created_by: str | None
    revoked_at: datetime | None
    last_used_at: datetime | None


@dataclass(frozen=True)
class RegisteredSchema:
    schema_id: str
    version: int
    type: str
    mime_type: str
    label: str | None
    comment: str | None
    content: str
    sha256: str
    created_at: datetime
    created_by: str | None
