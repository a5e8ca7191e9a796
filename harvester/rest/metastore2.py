"""KIT metastore2 (API v2): list metadata records, fetch each record's document.

``GET <url>/api/v2/metadata/?page=<0-based>&size=<n>`` lists the records (a JSON array;
``Content-Range: first-last/total``); ``from`` restricts it to records updated since,
which incremental runs use. Each document is then read with
``GET <url>/api/v2/metadata/<id>?version=<v>``; the document's schema decides the
crosswalk (:mod:`mappings.metastore2`). A document that cannot be read fails its record
only. Pages go on while they are not empty and fewer records than the Content-Range total
were received (servers cap ``size``); a deletion candidate is checked at its document URL.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote

from harvester import stamp
from harvester.http import Fetched, FetchError
from harvester.rest.core import (
    ApiHarvester,
    BadResponse,
    RecordRequest,
    RestClient,
    RestPage,
    RestRecord,
    parse_timestamp,
    without_query,
)
from harvester.rest.paging import identified, numbered_pages, string_id
from mappings import Mapped
from mappings.metastore2 import CROSSWALKS, RAW_FORMAT, from_metastore, schema_id_of

RECORD_ACCEPT = "application/json"
DOCUMENT_ACCEPT = "application/xml, application/json;q=0.9, */*;q=0.5"
_CONTENT_RANGE = re.compile(r"^\s*(?:items\s+)?\d+-\d+/(\d+)\s*$")

CONFIG_SCHEMA: dict[str, Any] = {
    "page_size": {"type": "integer", "minimum": 1, "maximum": 10000},
    "api_path": {"type": "string", "pattern": r"^[A-Za-z0-9_./-]+$"},
    "schema_map": {
        "type": "object",
        "additionalProperties": {"enum": sorted(CROSSWALKS)},
    },
}


class MetastoreHarvester(ApiHarvester):
    raw_format = RAW_FORMAT
    incremental = True

    def __init__(self, client: RestClient, config: Mapping[str, Any]) -> None:
        super().__init__(client, config)
        self.api = config.get("api_path", "api/v2/metadata").strip("/")
        self.schema_map = dict(config.get("schema_map", {}))

    def map(self, payload: Any) -> Mapped:
        record, document, content_type = payload
        return from_metastore(record, document, content_type, self.schema_map)

    def record_request(self, source_id: str) -> RecordRequest:
        url = self.client.url(f"{self.api}/{quote(source_id, safe='')}")
        return RecordRequest(url, accept=DOCUMENT_ACCEPT)

    def pages(self, since: datetime | None) -> Iterator[RestPage]:
        url = self.client.url(self.api + "/")
        params: dict[str, Any] = {"size": self.page_size}
        if since is not None:
            params["from"] = stamp(since)
        listing = numbered_pages(
            self.client, url, params, _records, param="page", total_of=lambda _d, f: _total(f)
        )
        for data, fetched in listing:
            yield self._page(_records(data, fetched), _total(fetched))

    def _page(self, data: list[Any], total: int | None) -> RestPage:
        records: list[RestRecord] = []
        warnings: list[str] = []
        for rid, record in identified(data, string_id, warnings, "metadata record"):
            records.append(self._record(rid, record))
        return RestPage(records, total=total, warnings=warnings)

    def _record(self, rid: str, record: dict[str, Any]) -> RestRecord:
        schema = schema_id_of(record)
        base = dict(source_id=rid, datestamp=parse_timestamp(record.get("lastUpdate")),
                    sets=[schema] if schema else [])  # fmt: skip
        params = {"version": record["version"]} if record.get("version") is not None else None
        try:
            fetched = self.client.get(
                self.client.url(f"{self.api}/{rid}"), params, accept=DOCUMENT_ACCEPT
            )
        except (FetchError, BadResponse) as exc:
            return RestRecord(payload=None, raw=None, error=f"document not read: {exc}", **base)
        content_type = fetched.headers.get("Content-Type", "").split(";")[0].strip() or None
        return RestRecord(
            payload=(record, fetched.content, content_type),
            raw=fetched.content,
            raw_format=f"{RAW_FORMAT}:{schema or 'unknown'}"[:64],
            **base,
        )


def _records(data: Any, fetched: Fetched) -> list[Any]:
    if not isinstance(data, list):
        raise BadResponse(
            f"the metadata records from {without_query(fetched.url)} are not a JSON array"
        )
    return data


def _total(fetched: Fetched) -> int | None:
    match = _CONTENT_RANGE.match(fetched.headers.get("Content-Range", ""))
    return int(match.group(1)) if match else None
