"""A harvest run of one OAI-PMH source: fetch a page -> map each record -> store the page.

Staged as in ckanext-harvest, with per-record outcomes and error rows:

- fetch: one ListRecords page at a time (:mod:`harvester.oai`); a page that cannot be
  fetched or read ends the run as ``failed`` (its records would be lost otherwise), but
  the pages stored before it stay stored and the next incremental run starts from the
  same ``harvest_from`` again, so nothing is skipped;
- map: each record through :func:`mappings.formats.map_payload`; a record that fails
  becomes a ``RunError(source_id, "map", reason)`` and counts as failed, the others go on;
  mapping warnings become ``severity="warning"`` rows (the first :data:`MAX_WARNING_ROWS`
  of a run; ``counts.warnings`` counts them all);
- store: the page in one transaction (``Store.upsert_page``), raw payload bytes kept with
  ``raw_format`` = the metadata prefix; deleted headers become tombstones.

Sets of stored records: ``source:<key>`` plus ``source:<key>:<setSpec>`` for every setSpec
of the record's header. ``:`` is OAI-PMH's set hierarchy separator, so the catalogue's
provider can expose them as a tree (``source`` > ``source:zenodo`` > ``source:zenodo:software``).
A harvested set that is not valid setSpec syntax, or too long for the store, is dropped
with a warning row (on PostgreSQL it would abort the whole page's transaction).

Every error row and run message goes through :meth:`RunState.redact` (the REST run blanks its
access token there), so nothing else has to remember to.

Incremental runs ask for ``from`` = the source's ``harvest_from`` minus
``overlap_seconds``; on success ``harvest_from`` becomes the responseDate of the run's
first page (the repository's clock, not ours) and the Identify granularity is saved.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from catalogue.model import MAX_SET_SPEC_CHARS, SET_SPEC
from catalogue.store import (
    HarvestRun,
    IncomingRecord,
    Outcome,
    RunCounts,
    RunError,
    Source,
    SourceNotFound,
    Store,
    utcnow,
)
from harvester.http import HarvestError
from harvester.oai import OAIClient, OAIRecord, Page
from harvester.prefetch import prefetched
from harvester.url_policy import instance_id, public_url, redact_url_secrets
from mappings import Mapped
from mappings.formats import map_payload

log = logging.getLogger(__name__)

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
        self, store: Store, key: str, run_id: int, redact: Callable[[str], str] = str
    ) -> None:
        self.store = store
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

    def fail(self, errors: list[RunError], source_id: str | None, stage: str, text: str) -> None:
        """An error row (the caller counts the failure)."""
        errors.append(RunError(source_id, stage, self.redact(text)))

    def finish(
        self, status: str, response_date: datetime | None, message: str | None = None
    ) -> HarvestRun:
        message = self.redact(message) if message is not None else None
        return self.store.finish_run(
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
            reason = f"{type(exc).__name__}: {exc}"
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
        )

    def store_page(self, page: Page, prefix: str) -> None:
        errors: list[RunError] = []
        for text in page.warnings:
            self.warn(errors, None, "fetch", text)
        items: list[IncomingRecord] = []
        for record in page.records:
            item = self.map_record(record, prefix, errors)
            if item is None:
                self.counts.add(Outcome.FAILED)
            else:
                items.append(item)
        for _rid, outcome in self.store.upsert_page(self.key, items, errors=errors):
            self.counts.add(outcome)
        self.store.add_run_errors(self.run_id, errors)

    def map_record(
        self, record: OAIRecord, prefix: str, errors: list[RunError]
    ) -> IncomingRecord | None:
        payload = record.payload
        if not record.deleted and payload is None:
            self.fail(errors, record.source_id, "map", "record has no metadata payload")
            return None
        return self.incoming(
            errors,
            record.source_id,
            record.set_specs,
            record.datestamp,
            deleted=record.deleted,
            mapper=lambda: map_payload(payload),
            raw=record.raw,
            raw_format=prefix,
        )


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


def harvest_source(
    store: Store,
    key: str,
    settings: Mapping[str, Any],
    *,
    full: bool = False,
    progress: Progress | None = None,
) -> HarvestRun:
    """Harvest source ``key`` (incrementally unless ``full``) and return the finished run.

    Fetch failures end the run as ``failed`` with a message (never raised); errors of the
    store or of our own code mark the run failed and are raised.
    """
    source = store.get_source(key)
    if source is None:
        raise SourceNotFound(key)
    # Imported here: harvester.rest.run builds on this module's run conventions.
    from harvester.rest.registry import REST_TYPES

    settings = with_instance_id(settings)
    if source.type in REST_TYPES:
        from harvester.rest.run import harvest_rest_source

        return harvest_rest_source(store, source, settings, full=full, progress=progress)
    harvest = settings.get("harvest", {})
    from_ = None if full else incremental_start(source, harvest)
    mode = "incremental" if from_ is not None else "full"
    run_id = store.start_run(key, mode, from_)
    redact = partial(redact_url_secrets, url=source.url)
    run = RunState(store, key, run_id, redact)
    log.info(
        "source %s run %d: %s harvest of %s from %s",
        key,
        run_id,
        mode,
        public_url(source.url),
        from_,
    )
    first_response: datetime | None = None
    try:
        with OAIClient(source.url, harvest, config=source.config) as client:
            run.redact = client.redact
            identity = client.identify()
            prefix = source.metadata_prefix or client.choose_prefix()
            for set_spec in source.sets or [None]:
                started = utcnow()
                pages = client.iter_pages(prefix, from_=from_, set_=set_spec)
                for page in prefetched(pages):
                    if first_response is None:
                        first_response = page.response_date or started
                    run.store_page(page, prefix)
                    if progress is not None:
                        progress(len(page.records), page.complete_list_size)
    except HarvestError as exc:
        log.warning("source %s run %d failed: %s", key, run_id, run.redact(str(exc)))
        return run.finish("failed", first_response, str(exc))
    except BaseException as exc:
        run.finish("failed", first_response, f"internal error: {type(exc).__name__}: {exc}")
        raise
    store.update_source(
        key, harvest_from=first_response or source.harvest_from, granularity=identity.granularity
    )
    result = run.finish("succeeded", first_response)
    log.info("source %s run %d succeeded: %s", key, run_id, result.counts)
    return result
