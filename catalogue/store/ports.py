"""The narrow views of the store that its consumers depend on (ports, in the sense of
ports and adapters): each names only what its consumer calls, so a consumer can be
read, tested or backed by another store without the whole facade.

The harvester's port is ``harvester.sink.RunSink``; the OAI-PMH provider's is
``catalogue.web.oai.provider.OaiRepository``. ``Store`` satisfies all of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Protocol

from catalogue.store.types import ApiToken, Change, RecordState, RegisteredSchema, StoredRecord


class ChangeFeed(Protocol):
    """What the indexer reads: the change log and the records it names."""

    def changes_since(self, seq: int, limit: int = 1000) -> list[Change]: ...

    def last_seq(self) -> int: ...

    def get_records(self, ids: Iterable[str]) -> dict[str, StoredRecord]: ...

    def iter_records(
        self, *, include_deleted: bool = False, batch: int = 1000
    ) -> Iterator[StoredRecord]: ...


class TokenLookup(Protocol):
    """What request authentication reads and records of API tokens."""

    def find_token(self, secret: str) -> ApiToken | None: ...

    def touch_token(self, token_id: int, when: datetime) -> None: ...


class SchemaLookup(Protocol):
    """What deposit validation reads of the schema registry."""

    def get_schema(self, schema_id: str, version: int | None = None) -> RegisteredSchema | None: ...


class RecordStates(Protocol):
    """What the record endpoints read: a record with its ETag and provenance."""

    def get_record_state(self, rid: str) -> RecordState | None: ...
