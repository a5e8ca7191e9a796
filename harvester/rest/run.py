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
listed and, once the listing is complete, takes the stored records it did not list as
candidates for deletion (set difference). Offset paging is not a snapshot: a record
edited during the listing can shift between pages and never be listed, so each candidate
is checked at its own URL (where the API has one) and tombstoned only when the source
answers 404 or 410; a record still served, or a check that fails, is kept with a warning
row. At most :data:`MAX_VERIFY` candidates are checked per run (the rest wait for the
next full run). Before any of that, the deletion safety valve: when more than
:data:`MIN_DELETE_ALLOWANCE` records and more than ``max_delete_fraction`` (a setting)
of the source's live records would go, nothing is deleted and the run fails with the
figures, because an API that suddenly lists far fewer records is more often broken than
emptied. Incremental runs (where the API can filter by update time) never delete.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from harvester import clock, stop
from harvester.checkpoints import Checkpoint
from harvester.checkpoints import resumable as resumed_checkpoint
from harvester.http import HarvestError
from harvester.map_ahead import LOCAL, MapAhead, local_or_mapped, map_in_worker
from harvester.prefetch import prefetched
from harvester.rest.core import ConfigError, RestClient, RestPage, RestRecord
from harvester.rest.paging import distinct_pages
from harvester.rest.registry import Harvester, make_harvester
from harvester.runs import Progress, RunState, execute_run, incremental_start
from harvester.settings import HarvestSettings
from harvester.sink import (
    HarvestRun,
    IncomingRecord,
    Outcome,
    RunCounts,
    RunError,
    RunSink,
    Source,
)

log = logging.getLogger(__name__)

_DELETE_CHUNK = 1000
WRITE_BATCH = 1000
"""Records stored per transaction (pages are joined until this many are waiting)."""
FLUSH_SECONDS = 2.0
"""...or until the oldest has waited this long: a slow source's pages are committed (and
checkpointed) as they come."""
MIN_DELETE_ALLOWANCE = 5
"""Deletions a full run may always make: the fraction alone would block every deletion
on a small source (one record of four is 25%)."""
MAX_VERIFY = 1000
"""Deletion candidates checked at their own URL per run (one request each)."""


class DeletionValve(HarvestError):
    """A full run would tombstone more of the source than the configured fraction."""


class _RestRun(RunState):
    """An OAI run's counts, error rows and redaction, plus REST's batching and deletions."""

    def __init__(
        self, sink: RunSink, source: Source, run_id: int, harvester: Harvester, client: RestClient
    ) -> None:
        super().__init__(sink, source.key, run_id, client.redact)
        self.harvester = harvester
        self.client = client
        self.seen: set[str] = set()
        self.batch: list[IncomingRecord] = []  # mapped, waiting to be stored
        self.batch_ids: set[str] = set()
        self.batch_errors: list[RunError] = []
        self.checkpoint: Checkpoint | None = None  # saved after each flush when resumable
        self.batch_position: dict[str, Any] | None = None
        self.started = clock.utcnow()
        self.flushed = time.monotonic()

    def add_page(self, page: RestPage, mapped: list[Any] | None = None) -> None:
        """Map the page's records and queue them for storing (stored by :meth:`flush`);
        ``mapped``: the results of :func:`map_rest_payloads` when a worker mapped them."""
        errors: list[RunError] = []
        for text in page.warnings:
            self.warn(errors, None, "fetch", text)
        items: list[IncomingRecord] = []
        for index, record in enumerate(page.records):
            if record.skip:
                self.warn(errors, record.source_id, "fetch", f"skipped: {record.skip}")
                continue
            self.seen.add(record.source_id)
            item = self.map_record(record, errors, mapped[index] if mapped is not None else LOCAL)
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
        if page.position is not None:
            self.batch_position = page.position
        if len(self.batch) >= WRITE_BATCH or time.monotonic() - self.flushed > FLUSH_SECONDS:
            self.flush()

    def flush(self) -> None:
        """Store the queued records and error rows in one transaction each."""
        items, errors = self.batch, self.batch_errors
        position, self.batch_position = self.batch_position, None
        self.flushed = time.monotonic()
        # Taken first: a write that fails is not tried again by the run's final flush.
        self.batch, self.batch_ids, self.batch_errors = [], set(), []
        self.store(items, errors)
        if self.checkpoint is not None and position is not None:
            if self.checkpoint.first_response is None:
                self.checkpoint.first_response = self.client.first_date or self.started
            self.checkpoint.position = position
            self.checkpoint.pages += 1
            self.checkpoint.records += len(items)
            self.sink.save_checkpoint(self.key, self.run_id, self.checkpoint.to_state())

    def map_record(
        self, record: RestRecord, errors: list[RunError], mapped: Any = LOCAL
    ) -> IncomingRecord | None:
        if record.error:
            self.fail(errors, record.source_id, "fetch", record.error)
            return None

        mapper, prepared = local_or_mapped(mapped, lambda: self.harvester.map(record.payload))
        return self.incoming(
            errors,
            record.source_id,
            record.sets,
            record.datestamp,
            deleted=record.deleted,
            mapper=mapper,
            raw=record.raw,
            raw_format=record.raw_format or self.harvester.raw_format,
            prepared=prepared,
        )

    def delete_unlisted(self, max_fraction: float) -> None:
        """Tombstone the stored records the complete listing no longer contains and the
        source confirms gone (see the module doc)."""
        stored = self.sink.live_source_ids(self.key)
        missing = sorted(stored - self.seen)
        if not missing:
            return
        fraction = len(missing) / len(stored)
        if len(missing) > MIN_DELETE_ALLOWANCE and fraction > max_fraction:
            raise DeletionValve(
                f"deletion safety valve: the source no longer lists {len(missing)} of its "
                f"{len(stored)} stored records ({fraction:.0%} > {max_fraction:.0%}); nothing "
                "deleted. Check the source; to accept, raise max_delete_fraction in its config "
                "and harvest --full again"
            )
        gone = self.confirmed_gone(missing)
        for start in range(0, len(gone), _DELETE_CHUNK):
            chunk = gone[start : start + _DELETE_CHUNK]
            self.counts.deleted += self.sink.mark_deleted(self.key, chunk)

    def confirmed_gone(self, candidates: list[str]) -> list[str]:
        """The candidates to tombstone: those the source answers 404/410 for at their own
        URL, and all of them when the API has no per-record URL (set difference)."""
        errors: list[RunError] = []
        gone: list[str] = []
        checked = kept = unchecked = 0
        for source_id in candidates:
            request = self.harvester.record_request(source_id)
            if request is None:
                gone.append(source_id)
                continue
            if checked >= MAX_VERIFY:
                unchecked += 1
                continue
            checked += 1
            try:
                if self.client.is_gone(request.url, request.params, accept=request.accept):
                    gone.append(source_id)
                    continue
                reason = "the source still serves it"
            except HarvestError as exc:
                reason = f"its check failed: {exc}"
            kept += 1
            self.warn(errors, source_id, "delete", f"not listed, but kept: {reason}")
        if checked:
            later = f"; {unchecked} left for the next full run" if unchecked else ""
            self.warn(errors, None, "delete",
                      f"{checked} unlisted records checked at their own URL: {len(gone)} gone "
                      f"(tombstoned), {kept} kept{later}")  # fmt: skip
            log.info("source %s run %d: %d deletion candidates checked, %d gone", self.key,
                     self.run_id, checked, len(gone))  # fmt: skip
        self.sink.add_run_errors(self.run_id, errors)
        return gone


def positioned(pages: Iterator[RestPage], client: RestClient) -> Iterator[RestPage]:
    """``pages``, each with the position the client read it at (its checkpoint)."""
    for page in pages:
        if client.position is not None:
            page.position = dict(client.position)
        yield page


def harvest_rest_source(
    sink: RunSink,
    source: Source,
    settings: HarvestSettings,
    *,
    full: bool = False,
    progress: Progress | None = None,
    env: Mapping[str, str] | None = None,
    sleep: Callable[[float], None] = stop.pause,
) -> HarvestRun:
    """Harvest REST source ``source`` and return the finished run (see the module doc)."""
    key = source.key
    config = source.config
    try:
        client = RestClient(source.url, settings, config, env=env, sleep=sleep)
        harvester = make_harvester(source.type, client, config)
    except ConfigError as exc:
        run_id = sink.start_run(key, "full")
        return sink.finish_run(run_id, "failed", RunCounts(), message=str(exc))
    incremental = harvester.incremental and config.get("incremental", True)
    since = incremental_start(source, settings) if incremental and not full else None
    mode = "incremental" if since is not None else "full"
    max_fraction = config.get("max_delete_fraction", settings.max_delete_fraction)
    started = clock.utcnow()
    resumable = getattr(harvester, "resumable", False)
    checkpoint = resumable and resumed_checkpoint(sink, key, mode, since)
    if checkpoint:
        client.resume = checkpoint.position
    state = checkpoint or Checkpoint(mode, since)

    def work(run: RunState) -> dict[str, Any]:
        assert isinstance(run, _RestRun)
        if resumable:
            run.checkpoint = state
        if checkpoint:
            run.note("fetch", f"resumed from the checkpoint of an unfinished run: "
                     f"{state.records} records in {state.pages} batches done")  # fmt: skip
        batch_of = _batch_of(harvester, getattr(sink, "preparer", None))
        with client, MapAhead(map_rest_payloads, batch_of, _total) as ahead:
            try:
                pages = distinct_pages(positioned(harvester.pages(since), client))
                for page, mapped in ahead(prefetched(pages)):
                    run.add_page(page, mapped)
                    if progress is not None:
                        progress(len(page.records), page.total)
            finally:
                run.flush()  # what was read before a failure is stored all the same
            if mode == "full" and checkpoint:
                # The dead run listed the first part: this one's ids are not the whole list.
                run.note("delete", "deletions wait for the next full run (this one resumed "
                         "a list begun by another run)")  # fmt: skip
            elif mode == "full":
                run.delete_unlisted(max_fraction)
        log.info("source %s run %d: %d requests", key, run.run_id, client.requests)
        # The next incremental run starts at the source's clock when this one (or the run
        # whose list it finished) started.
        if state.first_response is None:
            state.first_response = client.first_date or started
        return {"harvest_from": state.first_response}

    return execute_run(
        sink,
        source,
        mode,
        since,
        lambda run_id: _RestRun(sink, source, run_id, harvester, client),
        work,
        lambda: client.first_date,
    )


def _total(page: RestPage) -> int | None:
    return page.total


def _batch_of(harvester: Harvester, preparer: Any) -> Callable[[RestPage], list[Any] | None]:
    """What a mapping worker gets of a page: (mapper, payload, preparer, raw) per record it
    can map, None for the others; no batch at all without a ``worker_mapper``.

    A harvester whose ``raw`` is its payload's JSON (``raw_is_payload_json``) sends the raw
    bytes alone, as (mapper, None, preparer, raw, json.loads): pickling a decoded record
    costs the harvest process ~30 µs and the worker ~60 µs to rebuild, json.loads of the
    bytes it gets anyway ~30 µs, and json.loads(compact_json(payload)) == payload."""
    worker_mapper = getattr(harvester, "worker_mapper", None)
    from_raw = getattr(harvester, "raw_is_payload_json", False)

    def batch_of(page: RestPage) -> list[Any] | None:
        if worker_mapper is None:
            return None
        mapper = worker_mapper()
        return [
            None
            if r.skip or r.error or r.deleted
            else (mapper, None, preparer, r.raw, json.loads)
            if from_raw and r.raw is not None
            else (mapper, r.payload, preparer, r.raw)
            for r in page.records
        ]

    return batch_of


def map_rest_payloads(batch: list[tuple[Any, ...] | None]) -> list[Any]:
    """In a mapping worker: each payload mapped as :meth:`_RestRun.map_record` maps it, as
    :func:`~harvester.map_ahead.worker_result` or a :class:`MapFailed` with the error
    row's text; ``LOCAL`` for the records left to the harvest process. An item is
    (mapper, payload, preparer, raw), or (mapper, None, preparer, raw, decode) when the
    payload is ``decode(raw)`` (see :func:`_batch_of`)."""
    results: list[Any] = []
    for item in batch:
        if item is None:
            results.append(LOCAL)
            continue
        mapper, payload, preparer, raw = item[:4]
        decode = item[4] if len(item) > 4 else (lambda _raw, given=payload: given)
        results.append(map_in_worker(mapper, decode, raw, preparer))
    return results
