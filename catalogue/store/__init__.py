"""The relational store: the source of truth and the only code that writes its tables.

Every change to a record appends to the change log in the same transaction, so the
search index (a projection that follows the log) can never miss an update.

One module per aggregate (sources, record writes, record reads, runs, OAI-PMH reads,
local writes, tokens, schemas); :class:`Store` is their facade over one engine. Each
consumer depends on the narrow part it uses: the harvester on ``harvester.sink.RunSink``,
the OAI-PMH provider on its ``OaiRepository``, the indexer on ``ChangeFeed``.
"""

from __future__ import annotations

from catalogue.store.checkpoints import Checkpoints
from catalogue.store.engine import StoreBase, create_store_engine
from catalogue.store.leases import LEASE_SECONDS, Holder, Lease, LeaseLost, Leases, SourceHeld
from catalogue.store.local import LocalWrites, record_etag
from catalogue.store.oai import OaiReads
from catalogue.store.reads import RecordReads
from catalogue.store.runs import Runs
from catalogue.store.schemas import Schemas
from catalogue.store.sources import Sources
from catalogue.store.tokens import TOKEN_PREFIX, TOKEN_ROLES, Tokens, token_hash
from catalogue.store.types import (
    ApiToken,
    Change,
    HarvestRun,
    IncomingRecord,
    LocalProblem,
    LocalResult,
    LocalWrite,
    LocalWriteConflict,
    OaiEntry,
    Outcome,
    ProblemKind,
    RecordState,
    RegisteredSchema,
    RunCounts,
    RunError,
    Source,
    SourceExists,
    SourceNotFound,
    StoredRecord,
    StoreError,
)
from catalogue.store.write_plan import RAW_COMPRESSION_LEVEL, compress_raw
from harvester.clock import utcnow

__all__ = [
    "LEASE_SECONDS",
    "Holder",
    "Lease",
    "LeaseLost",
    "SourceHeld",
    "RAW_COMPRESSION_LEVEL",
    "TOKEN_PREFIX",
    "TOKEN_ROLES",
    "ApiToken",
    "Change",
    "HarvestRun",
    "IncomingRecord",
    "LocalProblem",
    "LocalResult",
    "LocalWrite",
    "LocalWriteConflict",
    "OaiEntry",
    "Outcome",
    "ProblemKind",
    "RecordState",
    "RegisteredSchema",
    "RunCounts",
    "RunError",
    "Source",
    "SourceExists",
    "SourceNotFound",
    "Store",
    "StoreBase",
    "StoreError",
    "StoredRecord",
    "compress_raw",
    "create_store_engine",
    "record_etag",
    "token_hash",
    "utcnow",
]


class Store(
    Sources, LocalWrites, RecordReads, Runs, Checkpoints, Leases, OaiReads, Tokens, Schemas
):
    """Records, sources, change log, runs and their checkpoints, leases, OAI-PMH reads,
    deposits, tokens and schemas over one SQLAlchemy engine (each aggregate in its own
    module)."""

    def remove_idle_source(self, key: str) -> int:
        """:meth:`remove_source` holding the source's lease: ``SourceHeld`` while a run
        holds it, and no run starts while the records become tombstones (a run going on
        beside a removal kept writing live records of a source that no longer existed)."""
        lease = self.claim_lease(key, purpose="remove")
        try:
            return self.remove_source(key)
        finally:
            self.release_lease(lease)
