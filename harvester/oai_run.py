"""A harvest run of one OAI-PMH source: fetch a page -> map each record -> store the page.

The stages, counts and error rows are every run's (:mod:`harvester.runs`); raw payloads
are kept with ``raw_format`` = the metadata prefix.

Incremental runs ask for ``from`` = the source's ``harvest_from`` minus
``overlap_seconds``; on success ``harvest_from`` becomes the responseDate of the run's
first page (the repository's clock, not ours) and the Identify granularity is saved.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from functools import partial
from typing import Any

from harvester import clock
from harvester.map_ahead import LOCAL, MapAhead, MapFailed, local_or_mapped, worker_result
from harvester.oai import OAIClient, OAIRecord, Page
from harvester.prefetch import prefetched
from harvester.runs import Progress, RunState, execute_run, incremental_start
from harvester.sink import HarvestRun, IncomingRecord, Outcome, RunError, RunSink, Source
from harvester.url_policy import redact_url_secrets
from mappings import MappingError
from mappings.formats import map_payload
from mappings.xml import parse_xml


class OaiRun(RunState):
    """A run's state, plus the mapping of OAI-PMH records."""

    def store_page(self, page: Page, prefix: str, mapped: list[Any] | None = None) -> None:
        """Map and store ``page``; ``mapped``: the results of :func:`map_raw_payloads` for
        its records when a worker mapped them."""
        errors: list[RunError] = []
        for text in page.warnings:
            self.warn(errors, None, "fetch", text)
        items: list[IncomingRecord] = []
        for index, record in enumerate(page.records):
            item = self.map_record(
                record, prefix, errors, mapped[index] if mapped is not None else LOCAL
            )
            if item is None:
                self.counts.add(Outcome.FAILED)
            else:
                items.append(item)
        self.store(items, errors)

    def map_record(
        self, record: OAIRecord, prefix: str, errors: list[RunError], mapped: Any = LOCAL
    ) -> IncomingRecord | None:
        payload = record.payload
        if not record.deleted and payload is None:
            self.fail(errors, record.source_id, "map", "record has no metadata payload")
            return None
        mapper, prepared = local_or_mapped(mapped, lambda: map_payload(payload))
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


def harvest_oai_source(
    sink: RunSink,
    source: Source,
    settings: Mapping[str, Any],
    *,
    full: bool = False,
    progress: Progress | None = None,
) -> HarvestRun:
    """Harvest OAI-PMH source ``source`` (incrementally unless ``full``)."""
    harvest = settings.get("harvest", {})
    from_ = None if full else incremental_start(source, harvest)
    mode = "incremental" if from_ is not None else "full"
    first_response: datetime | None = None

    def work(run: RunState) -> dict[str, Any]:
        nonlocal first_response
        assert isinstance(run, OaiRun)
        with (
            OAIClient(source.url, harvest, config=source.config) as client,
            MapAhead(map_raw_payloads, _batch_of(getattr(sink, "preparer", None)), _total) as ahead,
        ):
            run.redact = client.redact
            identity = client.identify()
            prefix = source.metadata_prefix or client.choose_prefix()
            for set_spec in source.sets or [None]:
                started = clock.utcnow()
                pages = client.iter_pages(prefix, from_=from_, set_=set_spec)
                for page, mapped in ahead(prefetched(pages)):
                    if first_response is None:
                        first_response = page.response_date or started
                    run.store_page(page, prefix, mapped)
                    if progress is not None:
                        progress(len(page.records), page.complete_list_size)
        return {
            "harvest_from": first_response or source.harvest_from,
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
        lambda: first_response,
    )


def _total(page: Page) -> int | None:
    """The records of the whole list when the page tells; 0 on the last page (no token)."""
    return page.complete_list_size if page.resumption_token else 0


def _batch_of(preparer: Any) -> Any:
    def batch_of(page: Page) -> list[Any]:
        """What a worker maps of ``page``: the payload bytes of the records that have one."""
        return [None if r.deleted or r.payload is None else (preparer, r.raw) for r in page.records]

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
        try:
            element = parse_xml(raw)
        except MappingError:
            results.append(LOCAL)
            continue
        try:
            mapped = map_payload(element)
        except Exception as exc:  # noqa: BLE001 - reported per record, as in the harvest process
            results.append(MapFailed(f"{type(exc).__name__}: {exc}"))
            continue
        results.append(worker_result(mapped, preparer, raw))
    return results
