"""perfSONAR UNIS: ``GET <url>/metadata`` (the collection of metadata objects).

The reference documents the objects, not the listing's paging: a UNIS collection answers a
plain GET with a JSON array, and accepts ``limit``/``skip`` to cut it into pages, which we
use (``page_size``; 0 asks for the whole collection at once). Incremental runs are opt-in
(``"incremental": true``): they filter with ``ts=gt=<microseconds>``, UNIS's field
operator syntax, because not every deployment supports it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from harvester.http import Fetched
from harvester.rest.core import BadResponse, RestClient, RestPage, RestRecord, compact_json, follow
from mappings import Mapped
from mappings.unis import RAW_FORMAT, from_unis, ts_to_datetime

ACCEPT = "application/perfsonar+json, application/json;q=0.9"

CONFIG_SCHEMA: dict[str, Any] = {
    "collection": {"type": "string", "pattern": r"^[A-Za-z0-9_./-]+$"},
    "page_size": {"type": "integer", "minimum": 0, "maximum": 100000},
    "publisher": {"type": "string", "minLength": 1},
}


class UnisHarvester:
    raw_format = RAW_FORMAT

    def __init__(self, client: RestClient, config: Mapping[str, Any]) -> None:
        self.client = client
        self.collection = config.get("collection", "metadata")
        self.page_size = config.get("page_size", 1000)
        self.publisher = config.get("publisher")
        # Opt-in: the reference does not document the ts filter.
        self.incremental = bool(config.get("incremental", False))

    def map(self, payload: Any) -> Mapped:
        return from_unis(payload, self.publisher)

    def pages(self, since: datetime | None) -> Iterator[RestPage]:
        params: dict[str, Any] = {}
        if self.page_size:
            params = {"limit": self.page_size, "skip": 0}
        if since is not None:
            params["ts"] = f"gt={int(since.replace(tzinfo=UTC).timestamp() * 1_000_000)}"
        url = self.client.url(self.collection)
        state = {"params": params}

        def next_of(data: Any, _fetched: Fetched) -> tuple[str, Mapping[str, Any]] | None:
            if not self.page_size or not isinstance(data, list) or len(data) < self.page_size:
                return None
            state["params"] = {**state["params"], "skip": state["params"]["skip"] + len(data)}
            return url, state["params"]

        for data, fetched in follow(self.client, url, params, next_of):
            if not isinstance(data, list):
                raise BadResponse(f"the UNIS collection at {fetched.url} is not a JSON array")
            yield self._page(data)

    def _page(self, data: list[Any]) -> RestPage:
        records, warnings = [], []
        for n, obj in enumerate(data):
            uid = obj.get("id") if isinstance(obj, dict) else None
            if not isinstance(uid, str) or not uid.strip():
                warnings.append(f"metadata object {n} has no id; skipped")
                continue
            records.append(
                RestRecord(
                    source_id=uid.strip(),
                    payload=obj,
                    raw=compact_json(obj),
                    datestamp=ts_to_datetime(obj.get("ts")),
                )
            )
        return RestPage(records, warnings=warnings)
