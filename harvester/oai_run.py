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
from harvester.oai import OAIClient, OAIRecord, Page
from harvester.prefetch import prefetched
from harvester.runs import Progress, RunState, execute_run, incremental_start
from harvester.sink import HarvestRun, IncomingRecord, Outcome, RunError, RunSink, Source
from harvester.url_policy import redact_url_secrets
from mappings.formats import map_payload


class OaiRun(RunState):
    """A run's state, plus the mapping of OAI-PMH records."""

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
        self.store(items, errors)

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
        with OAIClient(source.url, harvest, config=source.config) as client:
            run.redact = client.redact
            identity = client.identify()
            prefix = source.metadata_prefix or client.choose_prefix()
            for set_spec in source.sets or [None]:
                started = clock.utcnow()
                pages = client.iter_pages(prefix, from_=from_, set_=set_spec)
                for page in prefetched(pages):
                    if first_response is None:
                        first_response = page.response_date or started
                    run.store_page(page, prefix)
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
