"""A harvest run of one REST source: list pages -> map each record -> store the records.

The same stages, counts and error rows as an OAI-PMH run (:mod:`harvester.runs`):
fetch failures end the run as ``failed`` (pages read before stay stored), a record that
fails to map is one error row and one ``failed`` count, mapping warnings are warning rows.

The next page is fetched while the current one is mapped (:mod:`harvester.prefetch`), and
mapped records are stored in transactions of about :data:`WRITE_BATCH` records rather than
one per listing page (APIs page by 10 to 100): per record, a store transaction of 1,000
costs ~20% less than ten of 100. A batch never holds one source id twice, so counts are
those of page-by-page storing.

REST APIs do not report deletions. A full run therefore remembers every id the source
listed and, once the listing is complete, tombstones the stored records it did not list
(set difference) - unless that would delete more than ``max_delete_fraction`` (default
20%) of the source's live records: then nothing is deleted and the run fails with the
figures, because an API that suddenly lists far fewer records is more often broken than
emptied. Incremental runs (where the API can filter by update time) never delete.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from catalogue.store import HarvestRun, IncomingRecord, Outcome, RunCounts, RunError, Source, Store
from catalogue.store import utcnow as store_now
from harvester.http import HarvestError
from harvester.prefetch import prefetched
from harvester.rest.core import ConfigError, RestClient, RestPage, RestRecord
from harvester.rest.registry import DEFAULT_MAX_DELETE_FRACTION, Harvester, make_harvester
from harvester.runs import MAX_WARNING_ROWS, Progress, record_sets

log = logging.getLogger(__name__)

_DELETE_CHUNK = 1000
WRITE_BATCH = 1000
"""Records stored per transaction (pages are joined until this many are waiting)."""


class DeletionValve(HarvestError):
    """A full run would tombstone more of the source than the configured fraction."""


class _RestRun:
    def __init__(self, store: Store, source: Source, run_id: int, harvester: Harvester) -> None:
        self.store = store
        self.key = source.key
        self.run_id = run_id
        self.harvester = harvester
        self.counts = RunCounts()
        self.warning_rows = 0
        self.seen: set[str] = set()
        self.batch: list[IncomingRecord] = []  # mapped, waiting to be stored
        self.batch_ids: set[str] = set()
        self.batch_errors: list[RunError] = []

    def warn(self, errors: list[RunError], source_id: str | None, stage: str, text: str) -> None:
        self.counts.warnings += 1
        if self.warning_rows < MAX_WARNING_ROWS:
            self.warning_rows += 1
            errors.append(RunError(source_id, stage, text, severity="warning"))

    def add_page(self, page: RestPage) -> None:
        """Map the page's records and queue them for storing (stored by :meth:`flush`)."""
        errors: list[RunError] = []
        for text in page.warnings:
            self.warn(errors, None, "fetch", text)
        items: list[IncomingRecord] = []
        for record in page.records:
            if record.skip:
                self.warn(errors, record.source_id, "fetch", f"skipped: {record.skip}")
                continue
            self.seen.add(record.source_id)
            item = self.map_record(record, errors)
            if item is None:
                self.counts.add(Outcome.FAILED)
            else:
                items.append(item)
        ids = {item.source_id for item in items}
        if not self.batch_ids.isdisjoint(ids):
            self.flush()  # the store keeps one copy per id and transaction: count both
        self.batch.extend(items)
        self.batch_ids |= ids
        self.batch_errors.extend(errors)
        if len(self.batch) >= WRITE_BATCH:
            self.flush()

    def flush(self) -> None:
        """Store the queued records and error rows in one transaction each."""
        items, errors = self.batch, self.batch_errors
        # Taken first: a write that fails is not tried again by the run's final flush.
        self.batch, self.batch_ids, self.batch_errors = [], set(), []
        for _rid, outcome in self.store.upsert_page(self.key, items):
            self.counts.add(outcome)
        self.store.add_run_errors(self.run_id, errors)

    def map_record(self, record: RestRecord, errors: list[RunError]) -> IncomingRecord | None:
        sets = record_sets(self.key, record.sets)
        if record.error:
            errors.append(RunError(record.source_id, "fetch", record.error))
            return None
        if record.deleted:
            return IncomingRecord(
                record.source_id, None, sets=sets, source_datestamp=record.datestamp, deleted=True
            )
        try:
            metadata, warnings = self.harvester.map(record.payload)
        except Exception as exc:  # noqa: BLE001 - one bad record must never stop the run
            reason = f"{type(exc).__name__}: {exc}"
            log.info("source %s run %d: %s not mapped: %s", self.key, self.run_id,
                     record.source_id, reason)  # fmt: skip
            errors.append(RunError(record.source_id, "map", reason))
            return None
        for text in warnings:
            self.warn(errors, record.source_id, "map", text)
        return IncomingRecord(
            record.source_id,
            metadata,
            sets=sets,
            source_datestamp=record.datestamp,
            raw=record.raw,
            raw_format=record.raw_format or self.harvester.raw_format,
        )

    def delete_unlisted(self, max_fraction: float) -> None:
        """Tombstone the stored records the complete listing no longer contains."""
        stored = self.store.live_source_ids(self.key)
        missing = sorted(stored - self.seen)
        if not missing:
            return
        fraction = len(missing) / len(stored)
        if fraction > max_fraction:
            raise DeletionValve(
                f"deletion safety valve: the source no longer lists {len(missing)} of its "
                f"{len(stored)} stored records ({fraction:.0%} > {max_fraction:.0%}); nothing "
                "deleted. Check the source; to accept, raise max_delete_fraction in its config "
                "and harvest --full again"
            )
        for start in range(0, len(missing), _DELETE_CHUNK):
            chunk = missing[start : start + _DELETE_CHUNK]
            self.counts.deleted += self.store.mark_deleted(self.key, chunk)


def harvest_rest_source(
    store: Store,
    source: Source,
    settings: Mapping[str, Any],
    *,
    full: bool = False,
    progress: Progress | None = None,
    env: Mapping[str, str] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> HarvestRun:
    """Harvest REST source ``source`` and return the finished run (see the module doc)."""
    key = source.key
    harvest = settings.get("harvest", {})
    config = source.config
    try:
        client = RestClient(source.url, harvest, config, env=env, sleep=sleep)
        harvester = make_harvester(source.type, client, config)
    except ConfigError as exc:
        run_id = store.start_run(key, "full")
        return store.finish_run(run_id, "failed", RunCounts(), message=str(exc))
    since = None
    incremental = harvester.incremental and config.get("incremental", True)
    if not full and incremental and source.harvest_from is not None:
        since = source.harvest_from - timedelta(seconds=harvest.get("overlap_seconds", 0))
    mode = "incremental" if since is not None else "full"
    max_fraction = config.get(
        "max_delete_fraction", harvest.get("max_delete_fraction", DEFAULT_MAX_DELETE_FRACTION)
    )
    run_id = store.start_run(key, mode, since)
    run = _RestRun(store, source, run_id, harvester)
    log.info("source %s run %d: %s %s harvest of %s from %s", key, run_id, mode, source.type,
             source.url, since)  # fmt: skip
    started = store_now()
    try:
        with client:
            try:
                for page in prefetched(harvester.pages(since)):
                    run.add_page(page)
                    if progress is not None:
                        progress(len(page.records), page.total)
            finally:
                run.flush()  # what was read before a failure is stored all the same
            if mode == "full":
                run.delete_unlisted(max_fraction)
    except HarvestError as exc:
        message = client.redact(str(exc))
        log.warning("source %s run %d failed: %s", key, run_id, message)
        return store.finish_run(
            run_id, "failed", run.counts, response_date=client.first_date, message=message
        )
    except BaseException as exc:
        store.finish_run(
            run_id,
            "failed",
            run.counts,
            response_date=client.first_date,
            message=client.redact(f"internal error: {type(exc).__name__}: {exc}"),
        )
        raise
    # The next incremental run starts at the source's clock when this one started.
    store.update_source(key, harvest_from=client.first_date or started)
    result = store.finish_run(run_id, "succeeded", run.counts, response_date=client.first_date)
    log.info("source %s run %d succeeded: %s (%d requests)", key, run_id, result.counts,
             client.requests)  # fmt: skip
    return result
