"""Generic paginated JSON APIs (source type ``json``), MDM-style record APIs included.

The source URL is the list URL; the config says how pages follow one another
(``paging.style``: ``page`` (page/size), ``offset`` (offset/limit), ``cursor`` (a cursor
read from each response), ``next_link`` (a next URL read from the response or from the
``Link`` header) or ``none``), where the records are in a page (``records``), which path
holds a record's id (``id``) and, optionally, its update time, sets and deletion flag,
and the field map (``fields``, see :mod:`mappings.generic_json`).

Page and offset paging go on while pages are not empty (and fewer records than the total,
when ``paging.total_path`` names it, were received): servers cap the page size silently.
A full run takes the stored records the listing no longer contains for deleted; with
``record_url`` (a URL template with ``{id}``, relative to the list URL or absolute on its
host) each of them is first checked there and kept unless the server answers 404 or 410.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urljoin

import requests

from harvester import stamp
from harvester.http import Fetched
from harvester.rest.core import (
    BadResponse,
    RecordRequest,
    RestClient,
    RestPage,
    RestRecord,
    compact_json,
    parse_timestamp,
    without_query,
)
from harvester.rest.paging import DEFAULT_MAX_PAGES, follow, identified, numbered_pages
from mappings import Mapped
from mappings.generic_json import (
    DEFAULT_TARGETS,
    FIELD_TARGETS,
    RAW_FORMAT,
    compile_field_map,
    from_json_record,
)
from mappings.json_common import texts
from mappings.json_paths import compile_path

PAGING_STYLES = ("page", "offset", "cursor", "next_link", "none")
_PATH = {"type": "string", "maxLength": 500}
_PATHS = {"oneOf": [_PATH, {"type": "array", "items": _PATH, "minItems": 1}]}

CONFIG_SCHEMA: dict[str, Any] = {
    "records": _PATH,
    "id": _PATH,
    "datestamp": _PATH,
    "sets": _PATH,
    "deleted": _PATH,
    "params": {
        "type": "object",
        "additionalProperties": {"type": ["string", "number", "boolean"]},
    },
    "accept": {"type": "string", "minLength": 1},
    "record_url": {"type": "string", "pattern": r"\{id\}", "maxLength": 2000},
    "since_param": {"type": "string", "minLength": 1},
    "since_format": {"enum": ["iso", "date", "epoch", "epoch_ms"]},
    "paging": {
        "type": "object",
        "additionalProperties": False,
        "required": ["style"],
        "properties": {
            "style": {"enum": list(PAGING_STYLES)},
            "size": {"type": "integer", "minimum": 1, "maximum": 100000},
            "page_param": {"type": "string", "minLength": 1},
            "size_param": {"type": "string", "minLength": 1},
            "first_page": {"type": "integer", "minimum": 0},
            "offset_param": {"type": "string", "minLength": 1},
            "limit_param": {"type": "string", "minLength": 1},
            "cursor_param": {"type": "string", "minLength": 1},
            "cursor_path": _PATH,
            "next_path": _PATH,
            "total_path": _PATH,
            "max_pages": {"type": "integer", "minimum": 1},
        },
    },
    "fields": {
        "type": "object",
        "minProperties": 1,
        "propertyNames": {"enum": list(FIELD_TARGETS)},
        "additionalProperties": _PATHS,
    },
    "defaults": {
        "type": "object",
        "propertyNames": {"enum": list(DEFAULT_TARGETS)},
        "additionalProperties": {"type": "string", "minLength": 1},
    },
}
REQUIRED = ["records", "id", "fields"]


def check_config(config: Mapping[str, Any]) -> list[str]:
    """Problems the JSON Schema cannot see: paths that do not compile, paging gaps."""
    problems = []
    for name in ("records", "id", "datestamp", "sets", "deleted"):
        if name in config:
            try:
                compile_path(config[name])
            except ValueError as exc:
                problems.append(f"{name}: {exc}")
    paging = config.get("paging", {})
    for name in ("cursor_path", "next_path", "total_path"):
        if name in paging:
            try:
                compile_path(paging[name])
            except ValueError as exc:
                problems.append(f"paging.{name}: {exc}")
    if paging.get("style") == "cursor" and "cursor_path" not in paging:
        problems.append("paging.style cursor needs paging.cursor_path")
    try:
        compile_field_map(config.get("fields", {}), config.get("defaults"))
    except ValueError as exc:
        problems.append(str(exc))
    return problems


class JsonHarvester:
    raw_format = RAW_FORMAT
    resumable = True  # one listing through harvester.rest.paging (see ApiHarvester)

    def __init__(self, client: RestClient, config: Mapping[str, Any]) -> None:
        self.client = client
        self.field_map = compile_field_map(config["fields"], config.get("defaults"))
        self.records_path = compile_path(config["records"])
        self.id_path = compile_path(config["id"])
        self.datestamp_path = compile_path(config["datestamp"]) if "datestamp" in config else None
        self.sets_path = compile_path(config["sets"]) if "sets" in config else None
        self.deleted_path = compile_path(config["deleted"]) if "deleted" in config else None
        self.params = dict(config.get("params", {}))
        self.accept = config.get("accept", "application/json")
        self.since_param = config.get("since_param")
        self.since_format = config.get("since_format", "iso")
        self.incremental = bool(self.since_param) and config.get("incremental", True)
        self.paging = dict(config.get("paging", {"style": "none"}))
        self.record_url = config.get("record_url")

    def map(self, payload: Any) -> Mapped:
        return from_json_record(payload, self.field_map)

    def record_request(self, source_id: str) -> RecordRequest | None:
        if not self.record_url:
            return None  # no per-record URL: unlisted means deleted (set difference)
        path = self.record_url.replace("{id}", quote(source_id, safe=""))
        return RecordRequest(urljoin(self.client.base_url, path), accept=self.accept)

    def pages(self, since: datetime | None) -> Iterator[RestPage]:
        paging = self.paging
        style = paging["style"]
        params: dict[str, Any] = dict(self.params)
        if since is not None and self.since_param:
            params[self.since_param] = _since(since, self.since_format)
        url = self.client.base_url
        max_pages = paging.get("max_pages", DEFAULT_MAX_PAGES)
        size = paging.get("size", 100)
        if style in ("page", "offset"):
            if style == "page":
                params[paging.get("size_param", "size")] = size
                param, first = paging.get("page_param", "page"), paging.get("first_page", 1)
            else:
                params[paging.get("limit_param", "limit")] = size
                param, first = paging.get("offset_param", "offset"), 0
            listing = numbered_pages(
                self.client,
                url,
                params,
                self._records,
                param=param,
                first=first,
                by_offset=style == "offset",
                total_of=lambda data, _fetched: self._total(data),
                max_pages=max_pages,
            )
        else:

            def next_of(data: Any, fetched: Fetched) -> tuple[str, Mapping[str, Any] | None] | None:
                return self._next(data, fetched, params)

            listing = follow(self.client, url, params, next_of, max_pages=max_pages)
        for data, fetched in listing:
            yield self._page(data, fetched)

    def _records(self, data: Any, fetched: Fetched) -> list[Any]:
        records = self.records_path.node(data)
        if not isinstance(records, list):
            raise BadResponse(
                f"no list of records at {self.records_path.text!r} in {without_query(fetched.url)}"
            )
        return records

    def _next(
        self, data: Any, fetched: Fetched, params: Mapping[str, Any]
    ) -> tuple[str, Mapping[str, Any] | None] | None:
        """The next request of cursor and next-link paging (None for style ``none``)."""
        paging = self.paging
        style = paging["style"]
        count = len(self._records(data, fetched))
        if style == "cursor":
            cursor = compile_path(paging["cursor_path"]).first(data)
            if cursor in (None, "") or count == 0:
                return None
            return self.client.base_url, {**params, paging.get("cursor_param", "cursor"): cursor}
        if style == "next_link":
            link = self._next_link(data, fetched)
            if not link or count == 0:
                return None
            return urljoin(fetched.url, link), None
        return None

    def _next_link(self, data: Any, fetched: Fetched) -> str | None:
        if "next_path" in self.paging:
            link = compile_path(self.paging["next_path"]).first(data)
            return link if isinstance(link, str) else None
        header = fetched.headers.get("Link")
        for link in requests.utils.parse_header_links(header) if header else ():
            if link.get("rel") == "next":
                return link.get("url")
        return None

    def _total(self, data: Any) -> int | None:
        if "total_path" not in self.paging:
            return None
        total = compile_path(self.paging["total_path"]).first(data)
        return total if isinstance(total, int) and not isinstance(total, bool) else None

    def _page(self, data: Any, fetched: Fetched) -> RestPage:
        records: list[RestRecord] = []
        warnings: list[str] = []
        label = f"{without_query(fetched.url)}: record"
        for rid, item in identified(self._records(data, fetched), self.id_path.first, warnings,
                                    label):  # fmt: skip
            stamp_ = self.datestamp_path.first(item) if self.datestamp_path else None
            deleted = self.deleted_path.first(item) if self.deleted_path else None
            records.append(
                RestRecord(
                    source_id=rid,
                    payload=item,
                    raw=compact_json(item),
                    datestamp=_datestamp(stamp_),
                    sets=texts(self.sets_path.values(item)) if self.sets_path else [],
                    deleted=deleted is True or deleted == "true",
                )
            )
        return RestPage(records, total=self._total(data), warnings=warnings)


def _since(value: datetime, style: str) -> str:
    if style == "epoch":
        return str(int(value.replace(tzinfo=UTC).timestamp()))
    if style == "epoch_ms":
        return str(int(value.replace(tzinfo=UTC).timestamp() * 1000))
    if style == "date":
        return value.strftime("%Y-%m-%d")
    return stamp(value)


def _datestamp(value: Any) -> datetime | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = value / 1000 if value > 1e11 else value  # milliseconds since the epoch
        try:
            return datetime.fromtimestamp(seconds, UTC).replace(tzinfo=None)
        except (OverflowError, OSError, ValueError):
            return None
    return parse_timestamp(value)
