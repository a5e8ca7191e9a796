"""SURF Data Repository: communities, then ``/api/objects`` pages, then each object in full.

``/api/objects`` lists summaries (pid, title, type) in 1-based pages with ``links.next``
and ``links.last``; the full object (``/api/objects/<namespace>/<id>``) carries the
Dublin-Core-based metadata and the community fields, so each listed deposit (and, when
configured, collection) is fetched. The API has no update-time filter: every run is full,
with deletion detection by set difference (each candidate checked at its object URL). A
community's schema (field labels) is read once per run, when its first object appears.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote

from harvester.http import FetchError
from harvester.rest.core import (
    ApiHarvester,
    BadResponse,
    RecordRequest,
    RestClient,
    RestPage,
    RestRecord,
    compact_json,
    dig,
    parse_timestamp,
    without_query,
)
from harvester.rest.paging import follow, identified
from mappings import Mapped
from mappings.surf import RAW_FORMAT, from_surf

CONFIG_SCHEMA: dict[str, Any] = {
    "page_size": {"type": "integer", "minimum": 1, "maximum": 1000},
    "namespaces": {
        "type": "array",
        "minItems": 1,
        "items": {"enum": ["deposit", "collection"]},
    },
    "query": {"type": "string"},
    "fetch_schemas": {"type": "boolean"},
}


class SurfHarvester(ApiHarvester):
    raw_format = RAW_FORMAT
    incremental = False

    def __init__(self, client: RestClient, config: Mapping[str, Any]) -> None:
        super().__init__(client, config)
        self.namespaces = set(config.get("namespaces", ["deposit"]))
        self.query = config.get("query")
        self.fetch_schemas = config.get("fetch_schemas", True)
        self.communities: dict[str, str] = {}
        self.labels: dict[str, dict[str, str]] = {}  # community id -> field name -> label

    def map(self, payload: Any) -> Mapped:
        community = _community_of(payload) if isinstance(payload, dict) else None
        return from_surf(payload, self.labels.get(community or ""))

    def record_request(self, source_id: str) -> RecordRequest:
        namespace, _, oid = source_id.partition(":")
        return RecordRequest(self.client.url(f"api/objects/{namespace}/{quote(oid, safe='')}"))

    def pages(self, since: datetime | None) -> Iterator[RestPage]:
        communities, _ = self.client.get_json(self.client.url("api/objects/community"))
        if not isinstance(communities, list):
            raise BadResponse("the community list is not a JSON array")
        for item in communities:
            if isinstance(item, dict) and isinstance(item.get("id"), str):
                self.communities[item["id"]] = str(dig(item, "metadata", "base", "title") or "")
        params = {"page": 1, "size": self.page_size, "sort": "desc", "query": self.query}
        url = self.client.url("api/objects")
        for data, fetched in follow(self.client, url, params, _next_link):
            yield self._page(data, fetched.url)

    def _page(self, data: Any, url: str) -> RestPage:
        url = without_query(url)
        hits = dig(data, "hits", "hits")
        if not isinstance(hits, list):
            raise BadResponse(f"no hits.hits list in the objects from {url}")
        records: list[RestRecord] = []
        warnings: list[str] = []
        total = dig(data, "hits", "total")
        for pid, _hit in identified(hits, _pid, warnings, f"{url}: object (namespace:id pid)"):
            namespace, oid = pid.split(":", 1)
            if namespace.lower() not in self.namespaces or not oid:
                continue  # categories, communities, schemas: not records
            records.append(self._record(namespace.lower(), oid, warnings))
        return RestPage(records, total=total if isinstance(total, int) else None,
                        warnings=warnings)  # fmt: skip

    def _record(self, namespace: str, oid: str, warnings: list[str]) -> RestRecord:
        source_id = f"{namespace}:{oid}"
        try:
            obj, _ = self.client.get_json(self.client.url(f"api/objects/{namespace}/{oid}"))
        except (FetchError, BadResponse) as exc:
            return RestRecord(source_id, None, None, error=f"object not read: {exc}")
        if not isinstance(obj, dict):
            return RestRecord(source_id, None, None, error="object is not a JSON object")
        state = str(dig(obj, "properties", "state") or "published").lower()
        community = _community_of(obj)
        if community and self.fetch_schemas and community not in self.labels:
            self.labels[community] = self._labels(community, warnings)
        return RestRecord(
            source_id=source_id,
            payload=obj,
            raw=compact_json(obj),
            datestamp=parse_timestamp(obj.get("updated")),
            sets=[community] if community else [],
            skip=None if state == "published" else f"state {state}, not published",
        )

    def _labels(self, community: str, warnings: list[str]) -> dict[str, str]:
        try:
            schema, _ = self.client.get_json(
                self.client.url(f"api/objects/community/{community}/schema")
            )
        except (FetchError, BadResponse) as exc:
            warnings.append(f"schema of community {community} not read: {exc}")
            return {}
        fields = schema.get("fields") if isinstance(schema, dict) else None
        return {
            f["name"]: str(f.get("label") or f["name"])
            for f in fields or ()
            if isinstance(f, dict) and isinstance(f.get("name"), str)
        }


def _pid(hit: Mapping[str, Any]) -> str | None:
    pid = hit.get("pid")
    return pid if isinstance(pid, str) and ":" in pid else None


def _community_of(obj: Mapping[str, Any]) -> str | None:
    link = dig(obj, "links", "relationships", "community")
    if isinstance(link, str) and link.rstrip("/"):
        return link.rstrip("/").rsplit("/", 1)[-1]
    return None


def _next_link(data: Any, _fetched: Any) -> tuple[str, None] | None:
    link = dig(data, "links", "next")
    hits = dig(data, "hits", "hits")
    if not isinstance(link, str) or not link or not hits:
        return None
    page, pages = dig(data, "params", "page"), dig(data, "params", "pages")
    if isinstance(page, int) and isinstance(pages, int) and page >= pages:
        return None  # the last page still carries a next link on some servers
    if link == dig(data, "links", "last") and link == dig(data, "links", "self"):
        return None
    return link, None
