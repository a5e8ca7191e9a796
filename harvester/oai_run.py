"""A harvest run of one OAI-PMH source: fetch a page -> map each record -> store the page.

The stages, counts and error rows are every run's (:mod:`harvester.runs`); raw payloads
are kept with ``raw_format`` = the metadata prefix.

Incremental runs ask for ``from`` = the source's ``harvest_from`` minus
``overlap_seconds``; on success ``harvest_from`` becomes the responseDate of the run's
first page (the repository's clock, not ours) and the Identify granularity is saved.

A run is a plan of lists (each set of the source, each in date windows when the source
has a ``window``, :mod:`harvester.windows`) and survives what breaks a list half-way:

- after every committed page it saves a checkpoint (:mod:`harvester.checkpoints`); a run
  of the same list after a crash resumes there;
- a resumption token refused mid-list (``badResumptionToken``: expired, or the server
  restarted) lists again ``from`` the last committed datestamp (from the list's start when
  the list did not come in datestamp order), with a warning row;
- a window that fails is tried again alone, once, before the run fails;
- records outside the requested window (a provider that ignores from/until) are not
  stored, with a warning row: they belong to other windows or to earlier runs;
- a list that brings nothing new page after page ends the run (:mod:`harvester.list_guard`).
"""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Any

from harvester import clock
from harvester.checkpoints import Checkpoint, resumable
from harvester.http import HarvestError
from harvester.list_guard import ListGuard
from harvester.map_ahead import LOCAL, MapAhead, local_or_mapped, map_in_worker
from harvester.oai import DAY_GRANULARITY, OAIClient, OAIRecord, Page, SourceOAIError
from harvester.prefetch import prefetched
from harvester.runs import Progress, RunState, execute_run, incremental_start
from harvester.settings import HarvestSettings
from harvester.sink import HarvestRun, IncomingRecord, Outcome, RunError, RunSink, Source
from harvester.url_policy import redact_url_secrets
from harvester.windows import windows
from mappings import MappingError
from mappings.formats import map_payload
from mappings.xml import parse_xml

MAX_TOKEN_FALLBACKS = 5
"""Refused tokens in a row, with no new record in between, before a list is given up."""
WINDOW_RETRIES = 1
"""Times a failed date window is listed again, alone, before the run fails."""

Span = tuple[datetime | None, datetime | None]


class OaiRun(RunState):
    """A run's state, plus the mapping of OAI-PMH records and the window filter."""

    outside = 0  # records outside their window, not stored

    def store_page(
        self,
        page: Page,
        prefix: str,
        mapped: list[Any] | None = None,
        span: Span = (None, None),
        day: bool = False,
    ) -> list[datetime | None]:
        """Map and store the page's records inside ``span``; their datestamps. ``mapped``:
        the results of :func:`map_raw_payloads` for its records when a worker mapped them."""
        errors: list[RunError] = []
        for text in page.warnings:
            self.warn(errors, None, "fetch", text)
        items: list[IncomingRecord] = []
        stamps: list[datetime | None] = []
        outside = 0
        for index, record in enumerate(page.records):
            if _outside(record.datestamp, span, day):
                outside += 1
                continue
            stamps.append(record.datestamp)
            item = self.map_record(
                record, prefix, errors, mapped[index] if mapped is not None else LOCAL
            )
            if item is None:
                self.counts.add(Outcome.FAILED)
            else:
                items.append(item)
        if outside:
            if not self.outside:
                self.warn(errors, None, "fetch",
                          f"the source ignores from/until: records outside the requested "
                          f"{_span_text(span)} are left out (they belong to other windows "
                          "or were harvested before)")  # fmt: skip
            self.outside += outside
        self.store(items, errors)
        return stamps

    def map_record(
        self, record: OAIRecord, prefix: str, errors: list[RunError], mapped: Any = LOCAL
    ) -> IncomingRecord | None:
        if not record.deleted and record.raw is None:
            self.fail(errors, record.source_id, "map", "record has no metadata payload")
            return None
        # record.payload parses the raw bytes: only when this process maps the record.
        mapper, prepared = local_or_mapped(mapped, lambda: map_payload(record.payload))
        return self.incoming(
            errors,
            record.source_id,
            record.set_specs,
            record.datestamp,
            deleted=record.deleted,
            mapper=mapper,
            raw=record.raw,
            raw_format=prefix,
            prepared=prepared,
        )


def _outside(stamp: datetime | None, span: Span, day: bool) -> bool:
    if stamp is None:
        return False
    lo, hi = span
    if day:
        value = stamp.date()
        return (lo is not None and value < lo.date()) or (hi is not None and value > hi.date())
    return (lo is not None and stamp < lo) or (hi is not None and stamp > hi)


def _span_text(span: Span) -> str:
    lo, hi = span
    return f"window {lo or 'the start'} to {hi or 'now'}"


def harvest_oai_source(
    sink: RunSink,
    source: Source,
    settings: HarvestSettings,
    *,
    full: bool = False,
    progress: Progress | None = None,
) -> HarvestRun:
    """Harvest OAI-PMH source ``source`` (incrementally unless ``full``)."""
    from_ = None if full else incremental_start(source, settings)
    mode = "incremental" if from_ is not None else "full"
    checkpoint = resumable(sink, source.key, mode, from_)
    state = checkpoint or Checkpoint(mode, from_)

    def work(run: RunState) -> dict[str, Any]:
        nonlocal state
        assert isinstance(run, OaiRun)
        with (
            OAIClient(source.url, settings, config=source.config) as client,
            MapAhead(map_raw_payloads, _batch_of(getattr(sink, "preparer", None)), _total) as ahead,
        ):
            run.redact = client.redact
            identity = client.identify()
            prefix = source.metadata_prefix or client.choose_prefix()
            day = identity.granularity == DAY_GRANULARITY
            # A checkpoint of other lists (the source's prefix or sets changed since) is not
            # this run's: its token and datestamps would skip records of the new lists.
            lists = {"prefix": prefix, "sets": list(source.sets or [])}
            if checkpoint is not None and checkpoint.extra.get("lists") != lists:
                state = Checkpoint(mode, from_)
            state.extra["lists"] = lists
            if state is checkpoint:
                run.note("fetch", f"resumed from the checkpoint of an unfinished run: list "
                         f"{state.list_index + 1}, {state.pages} pages done, last datestamp "
                         f"{state.last_datestamp}")  # fmt: skip
            else:
                state.window = source.config.get("window", settings.window) or ""
                if state.window:
                    state.start = from_ or identity.earliest_datestamp
                    state.until = identity.response_date or clock.utcnow()
            plan = [
                (set_spec, span)
                for set_spec in source.sets or [None]
                for span in windows(
                    state.start if state.window else from_,
                    state.until,
                    state.window,
                    day_granularity=day,
                )  # fmt: skip
            ]
            for index in range(state.list_index, len(plan)):
                if index != state.list_index:
                    state.list_index, state.token = index, None
                    state.last_datestamp, state.ordered = None, True
                set_spec, span = plan[index]
                lister = _Lister(run, client, ahead, prefix, day, state, progress)
                lister.harvest_list(set_spec, span)
        if run.outside:
            run.note("fetch", f"{run.outside} records outside their requested window left out "
                     "(the source ignores from/until)")  # fmt: skip
        return {
            "harvest_from": state.first_response or source.harvest_from,
            "granularity": identity.granularity,
        }

    return execute_run(
        sink,
        source,
        mode,
        from_,
        lambda run_id: OaiRun(
            sink, source.key, run_id, partial(redact_url_secrets, url=source.url)
        ),
        work,
        lambda: state.first_response,
    )


def _restart_from(state: Checkpoint, lo: datetime | None) -> datetime | None:
    """Where a list starts again without its token: the last committed datestamp when
    the list came in datestamp order (records before it were all seen), else its start."""
    if state.ordered and state.last_datestamp is not None:
        return state.last_datestamp if lo is None else max(lo, state.last_datestamp)
    return lo


class _Lister:
    """Lists one set or window to its end (see the module doc)."""

    def __init__(
        self,
        run: OaiRun,
        client: OAIClient,
        ahead: MapAhead[Page],
        prefix: str,
        day: bool,
        state: Checkpoint,
        progress: Progress | None,
    ) -> None:
        self.run, self.client, self.ahead, self.prefix = run, client, ahead, prefix
        self.day, self.state, self.progress = day, state, progress

    def harvest_list(self, set_spec: str | None, span: Span) -> None:
        """The list to its end from ``state``; a failed window once more, alone."""
        retries = 0
        while True:
            try:
                self.pages(set_spec, span)
                return
            except SourceOAIError:
                raise
            except HarvestError as exc:
                if span[1] is None or retries >= WINDOW_RETRIES:
                    raise
                retries += 1
                self.state.token = None
                self.run.note("fetch", f"{_span_text(span)} failed ({exc}); listing it again "
                              f"alone from {_restart_from(self.state, span[0])}")  # fmt: skip

    def pages(self, set_spec: str | None, span: Span) -> None:
        run, state = self.run, self.state
        guard = ListGuard()
        refused = 0
        while True:
            token = state.token
            start = None if token else _restart_from(state, span[0])
            pages = self.client.iter_pages(
                self.prefix, from_=start, until=span[1], set_=set_spec, resume=token
            )
            new = False
            started = clock.utcnow()
            try:
                for page, mapped in self.ahead(prefetched(pages, large=_large)):
                    if state.first_response is None:
                        state.first_response = page.response_date or started
                    ids = [r.source_id for r in page.records]
                    new = guard.check(ids, bool(page.resumption_token)) or new
                    stamps = run.store_page(page, self.prefix, mapped, span, self.day)
                    state.note_datestamps(stamps)
                    state.token = page.resumption_token
                    state.pages += 1
                    state.records += len(ids)
                    run.sink.save_checkpoint(run.key, run.run_id, state.to_state())
                    if self.progress is not None:
                        self.progress(len(ids), page.complete_list_size)
                state.token = None
                return
            except SourceOAIError as exc:
                if exc.code != "badResumptionToken" or (token is None and not state.token):
                    raise
                refused = 0 if new else refused + 1
                if refused >= MAX_TOKEN_FALLBACKS:
                    raise HarvestError(
                        f"the source refused {refused} resumption tokens in a row without a "
                        f"new record in between: {exc}"
                    ) from exc
                state.token = None
                again = _restart_from(state, span[0])
                order = "" if state.ordered else " (the list is not in datestamp order)"
                run.note("fetch", f"resumption token refused ({exc.code}: "
                         f"{exc.message[:200]}); listing again from {again or 'the start'}"
                         f"{order}")  # fmt: skip


LARGE_PAGE = 8 * 1024 * 1024
"""Bytes of a page after which the next one is not fetched until this one is taken: up to
five pages are in memory otherwise (being stored, being mapped, two fetched, one being
parsed), each about 2.3 times its size (benchmarks/page_memory_bench.py)."""


def _large(page: Page) -> bool:
    return page.size > LARGE_PAGE


def _total(page: Page) -> int | None:
    """The records of the whole list when the page tells; 0 on the last page (no token)."""
    return page.complete_list_size if page.resumption_token else 0


def _batch_of(preparer: Any) -> Any:
    def batch_of(page: Page) -> list[Any]:
        """What a worker maps of ``page``: the payload bytes of the records that have one."""
        return [None if r.deleted or r.raw is None else (preparer, r.raw) for r in page.records]

    return batch_of


def map_raw_payloads(batch: list[tuple[Any, bytes] | None]) -> list[Any]:
    """In a mapping worker: each payload mapped as :meth:`OaiRun.map_record` maps it, as
    :func:`~harvester.map_ahead.worker_result`, a :class:`MapFailed` with the error row's
    text, or ``LOCAL`` (no payload, or bytes the safe parser refuses: mapped in the
    harvest process). ``batch``: (the sink's preparer or None, payload bytes) per record."""
    results: list[Any] = []
    for item in batch:
        if item is None:
            results.append(LOCAL)
            continue
        preparer, raw = item
        results.append(map_in_worker(map_payload, parse_xml, raw, preparer, MappingError))
    return results
