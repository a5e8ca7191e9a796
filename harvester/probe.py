"""Look at a source before registering it: what it is, what it offers; nothing is stored.

OAI-PMH: Identify, ListMetadataFormats and the first page of ListSets (a repository without
sets says so with ``noSetHierarchy``: no sets, not a failure). REST types: the first page
of the listing, its size and a few records' ids and titles as the crosswalk maps them.
A probe makes few requests and no retries beyond one, so an admin waits seconds, not minutes.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from harvester.http import HarvestError
from harvester.oai import OAIClient, OAIError
from harvester.rest.core import RestClient
from harvester.rest.registry import make_harvester
from harvester.url_policy import public_url
from mappings.formats import HARVEST_PREFERENCE

MAX_SETS = 200
SAMPLE_RECORDS = 5


@dataclass
class ProbeResult:
    ok: bool
    type: str
    url: str
    error: str | None = None
    repository_name: str | None = None
    protocol_version: str | None = None
    granularity: str | None = None
    earliest_datestamp: str | None = None
    deleted_record: str | None = None
    metadata_formats: list[dict[str, str | None]] = field(default_factory=list)
    suggested_prefix: str | None = None
    sets: list[dict[str, str]] = field(default_factory=list)
    more_sets: bool = False
    total_records: int | None = None
    first_page_records: int | None = None
    sample: list[dict[str, str | None]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def probe_source(
    type_: str,
    url: str,
    harvest: Mapping[str, Any],
    config: Mapping[str, Any] | None = None,
    *,
    env: Mapping[str, str] | None = None,
) -> ProbeResult:
    """Probe ``url`` as a ``type_`` source; ``harvest`` is ``settings["harvest"]``. Failures
    come back as ``ok=False`` with a one-line ``error``, never raised."""
    config = dict(config or {})
    quick = {**harvest, "max_retries": min(1, int(harvest.get("max_retries", 1)))}
    quick["timeout"] = min(float(harvest.get("timeout", 30)), 20.0)
    result = ProbeResult(ok=False, type=type_, url=public_url(url))
    try:
        if type_ == "oai":
            _probe_oai(result, url, quick, config, env)
        else:
            _probe_rest(result, type_, url, quick, config, env)
    except HarvestError as exc:
        result.error = str(exc).splitlines()[0][:500] if str(exc) else type(exc).__name__
        return result
    result.ok = True
    return result


def _probe_oai(
    result: ProbeResult,
    url: str,
    harvest: Mapping[str, Any],
    config: Mapping[str, Any],
    env: Mapping[str, str] | None,
) -> None:
    with OAIClient(url, harvest, config=config, env=env) as client:
        identity = client.identify()
        result.repository_name = identity.repository_name
        result.protocol_version = identity.protocol_version
        result.granularity = identity.granularity
        result.deleted_record = identity.deleted_record
        if identity.earliest_datestamp is not None:
            result.earliest_datestamp = identity.earliest_datestamp.isoformat() + "Z"
        formats = client.list_metadata_formats()
        result.metadata_formats = [f._asdict() for f in formats]
        try:
            result.suggested_prefix = client.choose_prefix(HARVEST_PREFERENCE)
        except OAIError:
            result.suggested_prefix = None
        try:
            sets, more = client.list_sets(MAX_SETS)
        except OAIError as exc:
            if exc.code != "noSetHierarchy":
                raise
            sets, more = [], False
        result.sets = [{"spec": spec, "name": name} for spec, name in sets]
        result.more_sets = more


def _probe_rest(
    result: ProbeResult,
    type_: str,
    url: str,
    harvest: Mapping[str, Any],
    config: Mapping[str, Any],
    env: Mapping[str, str] | None,
) -> None:
    with RestClient(url, harvest, config, env=env) as client:
        harvester = make_harvester(type_, client, config)
        page = next(iter(harvester.pages(None)), None)
        if page is None:
            result.first_page_records = 0
            return
        result.total_records = page.total
        result.first_page_records = len(page.records)
        for record in itertools.islice((r for r in page.records if not r.skip), SAMPLE_RECORDS):
            title = None
            if record.error is None and not record.deleted:
                try:
                    metadata, _warnings = harvester.map(record.payload)
                    titles = metadata.get("titles") or [{}]
                    title = titles[0].get("title")
                except Exception as exc:  # noqa: BLE001 - shown to the admin, not raised
                    title = f"(does not map: {type(exc).__name__}: {str(exc)[:200]})"
            result.sample.append({"id": record.source_id, "title": title})
