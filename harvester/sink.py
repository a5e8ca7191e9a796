"""What a harvest run emits, and the Protocol of the store it writes into.

The harvester never imports the catalogue: it speaks in these types, and the catalogue's
store implements :class:`RunSink` (``catalogue.store.Store`` satisfies it structurally).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

SET_SPEC = re.compile(r"[A-Za-z0-9\-_.!~*'()]+(?::[A-Za-z0-9\-_.!~*'()]+)*")
"""OAI-PMH 2.0 setSpec syntax: colon-separated ``unreserved`` URI characters (use ``fullmatch``)."""
MAX_SET_SPEC_CHARS = 200
"""The longest setSpec a sink keeps (the store's ``record_sets.spec`` column)."""


class Outcome(enum.StrEnum):
    ADDED = "added"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    DELETED = "deleted"
    FAILED = "failed"


class SinkError(Exception):
    """Base of the errors a sink raises (the store's own errors derive from it)."""


class SourceNotFound(SinkError):
    pass


@dataclass
class IncomingRecord:
    """A mapped record (or a deletion) on its way into the store."""

    source_id: str
    metadata: dict[str, Any] | None
    sets: list[str] = field(default_factory=list)
    source_datestamp: datetime | None = None
    deleted: bool = False
    raw: bytes | None = None
    raw_format: str | None = None
    prepared: Any = None
    """What the sink's ``preparer`` made of (metadata, raw) in a mapping worker, or None."""


@dataclass
class Source:
    key: str
    type: str
    url: str
    metadata_prefix: str | None
    sets: list[str]
    config: dict[str, Any]
    enabled: bool
    created_at: datetime
    harvest_from: datetime | None
    granularity: str | None
    schedule: str | None = None  # the catalogue's scheduler's; the harvester ignores it


@dataclass
class RunCounts:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    failed: int = 0
    warnings: int = 0

    def add(self, outcome: Outcome) -> None:
        setattr(self, outcome.value, getattr(self, outcome.value) + 1)

    @property
    def seen(self) -> int:
        return self.added + self.updated + self.unchanged + self.deleted + self.failed


@dataclass
class HarvestRun:
    id: int
    source: str
    mode: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    from_date: datetime | None
    response_date: datetime | None
    counts: RunCounts
    message: str | None


@dataclass(frozen=True)
class RunError:
    source_id: str | None
    stage: str
    reason: str
    severity: str = "error"


class RunSink(Protocol):
    """What a harvest run needs of the store: its source, its run row, and page writes.

    Optional: a ``preparer`` attribute, a picklable function ``(metadata, raw) -> prepared``
    that a mapping worker process (:mod:`harvester.map_ahead`) calls on each record it maps;
    the result travels as ``IncomingRecord.prepared`` (the store's serialising, hashing and
    compressing, done off the writing process).
    """

    def get_source(self, key: str) -> Source | None: ...

    def update_source(self, key: str, **values: Any) -> Source: ...

    def start_run(self, source: str, mode: str, from_date: datetime | None = None) -> int: ...

    def add_run_errors(self, run_id: int, errors: Iterable[RunError]) -> None: ...

    def finish_run(
        self,
        run_id: int,
        status: str,
        counts: RunCounts,
        *,
        response_date: datetime | None = None,
        message: str | None = None,
    ) -> HarvestRun: ...

    def upsert_page(
        self,
        source: str,
        items: Iterable[IncomingRecord],
        *,
        actor: str | None = None,
        errors: list[RunError] | None = None,
    ) -> list[tuple[str, Outcome]]: ...

    def mark_deleted(self, source: str, source_ids: Iterable[str]) -> int: ...

    def live_source_ids(self, source: str) -> set[str]: ...

    def save_checkpoint(self, source: str, run_id: int, state: dict[str, Any]) -> None: ...

    def load_checkpoint(self, source: str) -> tuple[int, dict[str, Any]] | None: ...

    def clear_checkpoint(self, source: str) -> None: ...

    def is_busy(self, exc: BaseException) -> bool:
        """Whether ``exc`` is a write that timed out waiting for the database's lock."""
        ...
