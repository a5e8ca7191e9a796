"""perfSONAR UNIS: ``GET <url>/metadata`` (the collection of metadata objects).

The reference documents the objects, not the listing's paging: a UNIS collection answers a
plain GET with a JSON array, and accepts ``limit``/``skip`` to cut it into pages, which we
use (``page_size``; 0 asks for the whole collection at once), until a page comes back
empty (a server may cap ``limit``). A deletion candidate is checked at
``<collection>/<id>``, its ``selfRef``. Incremental runs are opt-in
(``"incremental": true``): they filter with ``ts=gt=<microseconds>``, UNIS's field
operator syntax, because not every deployment supports it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from harvester.http import Fetched
from harvester.rest.core import (
    ApiHarvester,
    BadResponse,
    RecordRequest,
    RestClient,
    RestPage,
    RestRecord,
    compact_json,
    without_query,
)
from harvester.rest.paging import follow, identified, numbered_pages, string_id
from mappings import Mapped
from mappings.unis import RAW_FORMAT, from_unis, ts_to_datetime

ACCEPT = "application/perfsonar+json, application/json;q=0.9"

CONFIG_SCHEMA: dict[str, Any] = {
    "collection": {"type": "string", "pattern": r"^[A-Za-z0-9_./-]+$"},
    "page_size": {"type": "integer", "minimum": 0, "maximum": 100000},
    "publisher": {"type": "string", "minLength": 1},
}


class UnisHarvester(ApiHarvester):
    raw_format = RAW_FORMAT
    default_page_size = 1000

    def __init__(self, client: RestClient, config: Mapping[str, Any]) -> None:
        super().__init__(client, config)
        self.collection = config.get("collection", "metadata")
        self.publisher = config.get("publisher")
        # Opt-in: the reference does not document the ts filter.
        self.incremental = bool(config.get("incremental", False))

    def map(self, payload: Any) -> Mapped:
        return from_unis(payload, self.publisher)

    def record_request(self, source_id: str) -> RecordRequest:
        url = self.client.url(f"{self.collection}/{quote(source_id, safe='')}")
        return RecordRequest(url, accept=ACCEPT)

    def pages(self, since: datetime | None) -> Iterator[RestPage]:
        params: dict[str, Any] = {}
        if since is not None:
            params["ts"] = f"gt={int(since.replace(tzinfo=UTC).timestamp() * 1_000_000)}"
        url = self.client.url(self.collection)
        if self.page_size:
            params["limit"] = self.page_size
            listing = numbered_pages(
                self.client, url, params, _objects, param="skip", by_offset=True
            )
        else:
            listing = follow(self.client, url, params, lambda _data, _fetched: None)
        for data, fetched in listing:
            yield self._page(_objects(data, fetched))

    def _page(self, data: list[Any]) -> RestPage:
        records: list[RestRecord] = []
        warnings: list[str] = []
        for uid, obj in identified(data, string_id, warnings, "metadata object"):
            records.append(
                RestRecord(
                    source_id=uid,
                    payload=obj,
                    raw=compact_json(obj),
                    datestamp=ts_to_datetime(obj.get("ts")),
                )
            )
        return RestPage(records, warnings=warnings)


def _objects(data: Any, fetched: Fetched) -> list[Any]:
    if not isinstance(data, list):
        raise BadResponse(
            f"the UNIS collection at {without_query(fetched.url)} is not a JSON array"
        )
    return data
