"""The one run skeleton of every source type (start, work, finish) and a run's state.

Staged as in ckanext-harvest, with per-record outcomes and error rows:

- fetch: a page at a time (OAI-PMH :mod:`harvester.oai_run`, REST :mod:`harvester.rest.run`);
  a page that cannot be fetched or read ends the run as ``failed`` (its records would be
  lost otherwise), but the pages stored before it stay stored and the next incremental run
  starts from the same ``harvest_from`` again, so nothing is skipped;
- map: each record through its crosswalk; a record that fails becomes a
  ``RunError(source_id, "map", reason)`` and counts as failed, the others go on; mapping
  warnings become ``severity="warning"`` rows (the first :data:`MAX_WARNING_ROWS` of a run;
  ``counts.warnings`` counts them all);
- store: pages in one transaction each (``RunSink.upsert_page``), raw payload bytes kept;
  deleted records become tombstones.

Sets of stored records: ``source:<key>`` plus ``source:<key>:<setSpec>`` for every setSpec
of the record's header. ``:`` is OAI-PMH's set hierarchy separator, so the catalogue's
provider can expose them as a tree (``source`` > ``source:zenodo`` > ``source:zenodo:software``).
A harvested set that is not valid setSpec syntax, or too long for the store, is dropped
with a warning row (on PostgreSQL it would abort the whole page's transaction).

Every error row and run message goes through :meth:`RunState.redact` (the REST run blanks its
access token there), so nothing else has to remember to.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from harvester.http import HarvestError
from harvester.map_ahead import MapFailed
from harvester.messages import shorten
from harvester.sink import (
    MAX_SET_SPEC_CHARS,
    SET_SPEC,
    HarvestRun,
    IncomingRecord,
    RunCounts,
    RunError,
    RunSink,
    Source,
)
from harvester.url_policy import instance_id, public_url
from mappings import Mapped

log = logging.getLogger(__name__)

STORE_ATTEMPTS = 4
"""Times a page is written when the database stays busy (then the run fails)."""
MAX_WARNING_ROWS = 1000
"""Warning rows stored per run; counts.warnings still counts every warning."""

Progress = Callable[[int, "int | None"], None]
"""progress(advance, total): records just processed, and the list size when the server says."""


def record_sets(key: str, set_specs: list[str]) -> tuple[list[str], list[str]]:
    """The catalogue sets of a record of source ``key`` with these header setSpecs, and the
    problems of the setSpecs left out (bad syntax, or too long for ``record_sets.spec``)."""
    sets, problems = [f"source:{key}"], []
    for spec in set_specs:
        full = f"source:{key}:{spec}"
        if not SET_SPEC.fullmatch(spec):
            problems.append(f"set {spec[:80]!r} dropped: not OAI-PMH setSpec syntax")
        elif len(full) > MAX_SET_SPEC_CHARS:
            problems.append(
                f"set {spec[:80]!r}... dropped: {len(full)} characters as {full[:20]!r}..., "
                f"more than {MAX_SET_SPEC_CHARS}"
            )
        else:
            sets.append(full)
    return sets, problems


class RunState:
    """State of one run: counts, buffered error rows, the warning cap, redaction."""

    def __init__(
        self, store: RunSink, key: str, run_id: int, redact: Callable[[str], str] = str
    ) -> None:
        self.sink = store
        self.key = key
        self.run_id = run_id
        self.redact = redact
        self.counts = RunCounts()
        self.warning_rows = 0

    def warn(self, errors: list[RunError], source_id: str | None, stage: str, text: str) -> None:
        self.counts.warnings += 1
        if self.warning_rows < MAX_WARNING_ROWS:
            self.warning_rows += 1
            errors.append(RunError(source_id, stage, self.redact(text), severity="warning"))

    def note(self, stage: str, text: str) -> None:
        """A warning row about the run itself, stored at once."""
        errors: list[RunError] = []
        self.warn(errors, None, stage, text)
        log.warning("source %s run %d: %s", self.key, self.run_id, shorten(self.redact(text)))
        self.sink.add_run_errors(self.run_id, errors)

    def fail(self, errors: list[RunError], source_id: str | None, stage: str, text: str) -> None:
        """An error row (the caller counts the failure)."""
        errors.append(RunError(source_id, stage, self.redact(text)))

    def finish(
        self, status: str, response_date: datetime | None, message: str | None = None
    ) -> HarvestRun:
        message = self.redact(message) if message is not None else None
        return self.sink.finish_run(
            self.run_id, status, self.counts, response_date=response_date, message=message
        )

    def incoming(
        self,
        errors: list[RunError],
        source_id: str,
        set_specs: list[str],
        datestamp: datetime | None,
        *,
        mapper: Callable[[], Mapped],
        deleted: bool = False,
        raw: bytes | None = None,
        raw_format: str | None = None,
        prepared: Any = None,
    ) -> IncomingRecord | None:
        """The record to store (a tombstone when ``deleted``), or None when ``mapper`` failed."""
        sets, problems = record_sets(self.key, set_specs)
        for text in problems:
            self.warn(errors, source_id, "map", text)
        if deleted:
            return IncomingRecord(
                source_id, None, sets=sets, source_datestamp=datestamp, deleted=True
            )
        try:
            metadata, warnings = mapper()
        except Exception as exc:  # noqa: BLE001 - one bad record must never stop the run
            # MapFailed: it failed in a mapping worker, whose reason is already this text
            reason = exc.reason if isinstance(exc, MapFailed) else f"{type(exc).__name__}: {exc}"
            log.info("source %s run %d: %s not mapped: %s", self.key, self.run_id, source_id,
                     self.redact(reason))  # fmt: skip
            self.fail(errors, source_id, "map", reason)
            return None
        for text in warnings:
            self.warn(errors, source_id, "map", text)
        return IncomingRecord(
            source_id,
            metadata,
            sets=sets,
            source_datestamp=datestamp,
            raw=raw,
            raw_format=raw_format,
            prepared=prepared,
        )

    def store(self, items: list[IncomingRecord], errors: list[RunError]) -> None:
        """Store mapped records and error rows (one transaction each), counting outcomes.

        A page the store cannot write because another writer held the database past its
        lock timeout (``sink.is_busy``) rolled back whole: it is written again, up to
        :data:`STORE_ATTEMPTS` times, before the run fails.
        """
        for attempt in range(1, STORE_ATTEMPTS + 1):
            try:
                written = self.sink.upsert_page(self.key, items, errors=errors)
                break
            except Exception as exc:
                if attempt == STORE_ATTEMPTS or not self.sink.is_busy(exc):
                    raise
                log.warning("source %s run %d: the database is busy; storing the page again "
                            "(%d/%d)", self.key, self.run_id, attempt, STORE_ATTEMPTS)  # fmt: skip
                time.sleep(min(2.0, 0.2 * 2**attempt))
        for _rid, outcome in written:
            self.counts.add(outcome)
        self.sink.add_run_errors(self.run_id, errors)


def incremental_start(source: Source, harvest: Mapping[str, Any]) -> datetime | None:
    """Where an incremental run starts: the source's clock when the last successful run
    started, minus ``overlap_seconds`` (records stamped just before it may commit late)."""
    if source.harvest_from is None:
        return None
    return source.harvest_from - timedelta(seconds=harvest.get("overlap_seconds", 0))


def with_instance_id(settings: Mapping[str, Any]) -> Mapping[str, Any]:
    """``settings`` whose ``harvest`` section names this catalogue's instance, so that its
    harvester refuses responses of its own web app (see :mod:`harvester.url_policy`)."""
    harvest = dict(settings.get("harvest", {}))
    if "instance_id" not in harvest and settings.get("secret_key") is not None:
        harvest["instance_id"] = instance_id(
            str(settings["secret_key"]), str(settings.get("database_url", ""))
        )
    return {**settings, "harvest": harvest}


def _internal(exc: BaseException) -> str:
    if isinstance(exc, KeyboardInterrupt | SystemExit):
        return f"interrupted ({type(exc).__name__}); the next run resumes from its checkpoint"
    return f"internal error: {type(exc).__name__}: {exc}"


def execute_run(
    sink: RunSink,
    source: Source,
    mode: str,
    from_: datetime | None,
    run_type: Callable[[int], RunState],
    work: Callable[[RunState], dict[str, Any]],
    response_date: Callable[[], datetime | None],
) -> HarvestRun:
    """The skeleton of every run: start its row, do ``work``, finish it.

    ``work(run)`` fetches, maps and stores, and returns what to save on the source when
    it succeeds (``harvest_from`` and the like). A :class:`HarvestError` ends the run as
    ``failed`` with its message (never raised); any other error (of the store, of our own
    code, an interrupt) marks the run failed and is raised. A run that succeeds forgets
    its source's checkpoint (:mod:`harvester.checkpoints`); a failed one leaves it for
    the next run to resume from. ``response_date()`` is the
    source's clock at the run's first response, once there was one.
    """
    run = run_type(sink.start_run(source.key, mode, from_))
    log.info("source %s run %d: %s %s harvest of %s from %s", source.key, run.run_id, mode,
             source.type, public_url(source.url), from_)  # fmt: skip
    try:
        updates = work(run)
    except HarvestError as exc:
        message = shorten(str(exc))
        log.warning("source %s run %d failed: %s", source.key, run.run_id, run.redact(message))
        return run.finish("failed", response_date(), message)
    except BaseException as exc:
        run.finish("failed", response_date(), shorten(_internal(exc)))
        raise
    sink.update_source(source.key, **updates)
    sink.clear_checkpoint(source.key)
    result = run.finish("succeeded", response_date())
    log.info("source %s run %d succeeded: %s", source.key, run.run_id, result.counts)
    return result
