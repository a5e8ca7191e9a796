"""Harvest one source, whatever its type: the source-type registry picks its run.

Every type runs through the same skeleton (:func:`harvester.runs.execute_run`); this
module only knows which run belongs to which type, so the run modules never import
each other.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from harvester.oai_run import harvest_oai_source
from harvester.rest.registry import REST_TYPES
from harvester.rest.run import harvest_rest_source
from harvester.runs import Progress, with_instance_id
from harvester.sink import HarvestRun, RunSink, Source, SourceNotFound

OAI_TYPE = "oai"

RunFunction = Callable[..., HarvestRun]

RUNS: dict[str, RunFunction] = {
    OAI_TYPE: harvest_oai_source,
    **{name: harvest_rest_source for name in REST_TYPES},
}
"""Source type -> the function that runs a harvest of it."""

SOURCE_TYPES: tuple[str, ...] = tuple(RUNS)
"""Every source type a source may be registered with (the one list of them)."""


def harvest_source(
    sink: RunSink,
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
    source: Source | None = sink.get_source(key)
    if source is None:
        raise SourceNotFound(key)
    # A type no run is registered for is OAI-PMH (stores of the first release say "oai-pmh").
    run = RUNS.get(source.type, harvest_oai_source)
    return run(sink, source, with_instance_id(settings), full=full, progress=progress)
