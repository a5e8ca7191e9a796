"""KIT metastore2 (API v2): list metadata records, fetch each record's document.

``GET <url>/api/v2/metadata/?page=<0-based>&size=<n>`` lists the records (a JSON array;
``Content-Range: first-last/total``); ``from`` restricts it to records updated since,
which incremental runs use. Each document is then read with
``GET <url>/api/v2/metadata/<id>?version=<v>``; the document's schema decides the
crosswalk (:mod:`mappings.metastore2`). A document that cannot be read fails its record
only.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from harvester.http import Fetched, FetchError
from harvester.rest.core import (
    BadResponse,
    RestClient,
    RestPage,
    RestRecord,
    follow,
    parse_timestamp,
)
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


class MetastoreHarvester:
    raw_format = RAW_FORMAT
    incremental = True

    def __init__(self, client: RestClient, config: Mapping[str, Any]) -> None:
        self.client = client
        self.page_size = config.get("page_size", 100)
        self.api = config.get("api_path", "api/v2/metadata").strip("/")
        self.schema_map = dict(config.get("schema_map", {}))

    def map(self, payload: Any) -> Mapped:
        record, document, content_type = payload
        return from_metastore(record, document, content_type, self.schema_map)

    def pages(self, since: datetime | None) -> Iterator[RestPage]:
        url = self.client.url(self.api + "/")
        params: dict[str, Any] = {"page": 0, "size": self.page_size}
        if since is not None:
            params["from"] = since.strftime("%Y-%m-%dT%H:%M:%SZ")
        state = {"params": params}

        def next_of(data: Any, fetched: Fetched) -> tuple[str, Mapping[str, Any]] | None:
            if not isinstance(data, list) or len(data) < self.page_size:
                return None
            following = {**state["params"], "page": state["params"]["page"] + 1}
            total = _total(fetched)
            if total is not None and following["page"] * self.page_size >= total:
                return None
            state["params"] = following
            return url, following

        for data, fetched in follow(self.client, url, params, next_of):
            if not isinstance(data, list):
                raise BadResponse(f"the metadata records from {fetched.url} are not a JSON array")
            yield self._page(data, _total(fetched))

    def _page(self, data: list[Any], total: int | None) -> RestPage:
        records, warnings = [], []
        for n, record in enumerate(data):
            rid = record.get("id") if isinstance(record, dict) else None
            if not isinstance(rid, str) or not rid.strip():
                warnings.append(f"metadata record {n} has no id; skipped")
                continue
            records.append(self._record(rid.strip(), record))
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


def _total(fetched: Fetched) -> int | None:
    match = _CONTENT_RANGE.match(fetched.headers.get("Content-Range", ""))
    return int(match.group(1)) if match else None
