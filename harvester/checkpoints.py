"""Where a run is, saved after every committed page, so the next run resumes there.

A run that dies (kill -9, a lost connection, a failed window) leaves its source's
checkpoint behind; the next run of the same list (same mode and ``from``) takes it up
instead of starting again from the beginning:

- OAI-PMH: the list (set and date window) it was in, the resumption token of the last
  committed page, the highest datestamp committed and whether the list came in datestamp
  order. When that token no longer works (tokens expire) the list is asked for again
  ``from`` the last committed datestamp, or from its own start when it did not come in
  datestamp order (``from`` a datestamp would then skip records not yet seen);
- REST: the request of the last committed page (:mod:`harvester.rest.paging`), fetched
  again and followed from there.

The repository's clock at the dead run's first response is kept too: it becomes the
source's ``harvest_from`` when the resumed run succeeds, because the list it finishes
began then. The checkpoint is saved after the page's own transaction: a kill between the
two costs one page fetched again (its records come back unchanged), never a record.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from typing import Any

from harvester.sink import RunSink

log = logging.getLogger(__name__)

VERSION = 1


@dataclass
class Checkpoint:
    """One source's progress through its run's lists (see the module doc)."""

    mode: str
    from_: datetime | None
    first_response: datetime | None = None
    # OAI-PMH: the run's plan (date windows from ``start`` to ``until`` of ``window`` size)
    # and where in it the run is.
    start: datetime | None = None
    until: datetime | None = None
    window: str = ""
    list_index: int = 0
    token: str | None = None
    last_datestamp: datetime | None = None
    ordered: bool = True
    # REST: where the listing goes on (harvester.rest.paging)
    position: dict[str, Any] | None = None
    pages: int = 0
    records: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def to_state(self) -> dict[str, Any]:
        state = asdict(self)
        for name, value in state.items():
            if isinstance(value, datetime):
                state[name] = value.isoformat()
        state["version"] = VERSION
        return state

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Checkpoint | None:
        """The checkpoint of a stored state; None when it is not one this code wrote."""
        if state.get("version") != VERSION:
            return None
        values: dict[str, Any] = {}
        try:
            for f in fields(cls):
                if f.name not in state:
                    continue
                value = state[f.name]
                if f.name in ("from_", "first_response", "start", "until", "last_datestamp"):
                    value = datetime.fromisoformat(value) if value is not None else None
                values[f.name] = value
            return cls(**values)
        except (TypeError, ValueError):
            return None

    def note_datestamps(self, stamps: list[datetime | None]) -> None:
        """Follow the highest datestamp committed, and whether the list is in their order."""
        for stamp in stamps:
            if stamp is None:
                continue
            if self.last_datestamp is not None and stamp < self.last_datestamp:
                self.ordered = False
            else:
                self.last_datestamp = stamp


def resumable(sink: RunSink, key: str, mode: str, from_: datetime | None) -> Checkpoint | None:
    """The checkpoint a run of ``key`` in ``mode`` from ``from_`` resumes from, if any:
    one left by an unfinished run of the same list. Any other checkpoint is left alone (a
    later run of its list may still take it up) until a run succeeds."""
    loaded = sink.load_checkpoint(key)
    if loaded is None:
        return None
    run_id, state = loaded
    checkpoint = Checkpoint.from_state(state)
    if checkpoint is None or checkpoint.mode != mode or checkpoint.from_ != from_:
        return None
    log.info("source %s: resuming run %d's list from its checkpoint (%d pages done)", key,
             run_id, checkpoint.pages)  # fmt: skip
    return checkpoint
