"""The one clock of the system: the store, the provider and the harvester all read it.

Callers use ``clock.utcnow()`` through the module (not ``from ... import utcnow``), so a
test that sets ``harvester.clock.utcnow`` moves every reader of the time at once.
"""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """Naive UTC, to the second: the store's (and OAI-PMH's) granularity."""
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)
