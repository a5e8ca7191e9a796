"""EUDAT B2SHARE: communities, their schemas, then ``/api/records/`` in time windows.

B2SHARE's search (Elasticsearch underneath) refuses to page past ``page * size`` =
10,000 hits. A listing is therefore cut into windows of update time, each queried with
``q=updated:[lo TO hi}`` (inclusive start, exclusive end, so windows neither overlap nor
leave gaps). The first page of a window tells its total; a window over the limit is split
into equal slices (recursively, down to one second) before any of its pages is followed.
The last window stays open-ended (``TO *]``) so that a record updated during the harvest
is never missing from a full listing (it would be tombstoned by the set difference).

Incremental runs list ``updated:[since TO *]`` only. Pages within a window follow
``links.next``, sorted ``mostrecent``. Paging is by offset, not a snapshot: a record edited
meanwhile leaves its window, and the one after it can slip onto a page already read. Such
a record is missing from the listing, so a full run checks it at ``api/records/<id>``
before taking it for deleted (:mod:`harvester.rest.run`).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timedelta
from functools import partial
from typing import Any
from urllib.parse import quote

from harvester import clock, stamp
from harvester.http import FetchError
from harvester.rest.core import (
    ApiHarvester,
    BadResponse,
    RecordRequest,
    RestClient,
    RestPage,
    RestRecord,
    StatusError,
    compact_json,
    dig,
    parse_timestamp,
    without_query,
)
from harvester.rest.paging import follow, identified
from mappings import Mapped
from mappings.b2share import RAW_FORMAT, from_b2share, is_published

log = logging.getLogger(__name__)

MAX_RESULT_WINDOW = 10_000
DEFAULT_EPOCH = "2000-01-01T00:00:00Z"
# Slices per split aim at this share of the limit, so that uneven windows rarely split twice.
_FILL = 0.8
_MAX_SLICES = 64
_SECOND = timedelta(seconds=1)

CONFIG_SCHEMA: dict[str, Any] = {
    "page_size": {"type": "integer", "minimum": 1, "maximum": 10000},
    "max_result_window": {"type": "integer", "minimum": 1},
    "communities": {"type": "array", "items": {"type": "string", "minLength": 1}},
    "query": {"type": "string"},
    "updated_field": {"type": "string", "pattern": r"^[A-Za-z0-9_.]+$"},
    "epoch": {"type": "string", "minLength": 4},
    "fetch_schemas": {"type": "boolean"},
}


class B2ShareHarvester(ApiHarvester):
    # Listings in update-time windows split by the totals the server reports, after the
    # communities: a dead run's full list is read again (its records come back unchanged).
    resumable = False

    """Lists one B2SHARE instance (``url`` is its base, e.g. https://b2share.eudat.eu)."""

    raw_format = RAW_FORMAT
    incremental = True
    raw_is_payload_json = True  # raw = compact_json(hit): a mapping worker decodes it

    def __init__(self, client: RestClient, config: Mapping[str, Any]) -> None:
        super().__init__(client, config)
        self.limit = config.get("max_result_window", MAX_RESULT_WINDOW)
        # Hits that page-by-page listing can reach: a page may not end past the window
        # (from + size <= limit), so with size 2 and a window of 5 the fifth hit is lost.
        self.reachable = max(1, self.limit - self.limit % self.page_size)
        self.community_filter = list(config.get("communities", ()))
        self.query = config.get("query", "").strip()
        self.field = config.get("updated_field", "updated")
        self.epoch = parse_timestamp(config.get("epoch", DEFAULT_EPOCH)) or datetime(2000, 1, 1)
        self.fetch_schemas = config.get("fetch_schemas", True)
        self.communities: dict[str, dict[str, Any]] = {}
        self.total: int | None = None

    def map(self, payload: Any) -> Mapped:
        return from_b2share(payload, self.communities)

    def worker_mapper(self) -> Callable[[Any], Mapped]:
        """``map`` as a picklable function of the payload (for a mapping worker process)."""
        return partial(from_b2share, communities=self.communities)

    def record_request(self, source_id: str) -> RecordRequest:
        return RecordRequest(self.client.url(f"api/records/{quote(source_id, safe='')}"))

    # -- listing ----------------------------------------------------------------

    def pages(self, since: datetime | None) -> Iterator[RestPage]:
        warnings = self._load_communities()
        first = True
        for page in self._windows(since):
            if first:
                page.warnings[:0] = warnings
                first = False
            yield page

    def _load_communities(self) -> list[str]:
        """Community names and schema versions: they label records and name the sets."""
        warnings: list[str] = []
        url = self.client.url("api/communities/")
        try:
            for data, _ in follow(self.client, url, None, self._next_link):
                hits = dig(data, "hits", "hits")
                if not isinstance(hits, list):
                    raise BadResponse(f"no hits.hits list in the communities from {url}")
                self._add_communities(hits)
        except (StatusError, BadResponse) as exc:
            # An OAI-PMH endpoint or a web page given as a B2SHARE URL: say that first.
            if isinstance(exc, BadResponse) or exc.status in (404, 405, 410):
                raise BadResponse(f"no B2SHARE API here ({exc})") from None
            raise
        if not self.fetch_schemas:
            return warnings
        for cid in self.community_filter or list(self.communities):
            try:
                schema, _ = self.client.get_json(
                    self.client.url(f"api/communities/{cid}/schemas/last")
                )
            except (FetchError, BadResponse) as exc:
                warnings.append(f"schema of community {cid} not read: {exc}")
                continue
            version = schema.get("version") if isinstance(schema, dict) else None
            self.communities.setdefault(cid, {})["schema_version"] = version
        return warnings

    def _add_communities(self, hits: list[Any]) -> None:
        for hit in hits:
            if isinstance(hit, dict) and isinstance(hit.get("id"), str):
                self.communities[hit["id"]] = {"name": hit.get("name")}

    def _windows(self, since: datetime | None) -> Iterator[RestPage]:
        pending: list[tuple[datetime | None, datetime | None]] = [(since, None)]
        while pending:
            lo, hi = pending.pop(0)
            data, fetched = self._search(lo, hi, page=1)
            total = _total(data, without_query(fetched.url))
            if self.total is None:
                self.total = total
            if total > self.reachable:
                pending[:0] = self._split(lo, hi, total)
                continue
            yield self._page(data, fetched.url)
            if not dig(data, "hits", "hits"):
                continue
            request = self._next_link(data, fetched)
            if request is None:
                continue
            for data, fetched in follow(self.client, *request, self._next_link):
                yield self._page(data, fetched.url)

    def _split(
        self, lo: datetime | None, hi: datetime | None, total: int
    ) -> list[tuple[datetime | None, datetime | None]]:
        start = lo or self.epoch
        # An open end is split at the server's clock (plus a margin for clock skew).
        end = hi or ((self.client.first_date or clock.utcnow()) + timedelta(minutes=1))
        span = (end - start).total_seconds()
        if span <= 1:
            raise BadResponse(
                f"{total} records updated within one second at {stamp(start)}: more than "
                f"B2SHARE's {self.limit}-hit paging limit, they cannot all be listed"
            )
        slices = min(_MAX_SLICES, max(2, math.ceil(total / (self.limit * _FILL))))
        step = max(1.0, math.ceil(span / slices))
        bounds = [start + timedelta(seconds=step * n) for n in range(slices)]
        bounds = [b for b in bounds if b < end]
        log.info("B2SHARE window %s..%s has %d hits: %d slices", lo, hi, total, len(bounds))
        windows: list[tuple[datetime | None, datetime | None]] = []
        for n, bound in enumerate(bounds):
            upper = bounds[n + 1] if n + 1 < len(bounds) else hi
            windows.append((lo if n == 0 else bound, upper))
        return windows

    def _search(self, lo: datetime | None, hi: datetime | None, page: int) -> tuple[Any, Any]:
        params = {
            "q": self._q(lo, hi),
            "sort": "mostrecent",
            "size": self.page_size,
            "page": page,
        }
        return self.client.get_json(self.client.url("api/records/"), params)

    def _q(self, lo: datetime | None, hi: datetime | None) -> str:
        parts = []
        if self.query:
            parts.append(f"({self.query})")
        if self.community_filter:
            parts.append("(" + " OR ".join(f"community:{c}" for c in self.community_filter) + ")")
        if lo is not None or hi is not None:
            start = stamp(lo) if lo is not None else "*"
            end = f"{stamp(hi)}}}" if hi is not None else "*]"
            parts.append(f"{self.field}:[{start} TO {end}")
        return " AND ".join(parts)

    def _next_link(self, data: Any, _fetched: Any) -> tuple[str, None] | None:
        link = dig(data, "links", "next")
        if not isinstance(link, str) or not link:
            return None
        if isinstance(dig(data, "hits", "hits"), list) and not data["hits"]["hits"]:
            return None  # an empty page with a next link would never end
        return link, None

    def _page(self, data: Any, url: str) -> RestPage:
        url = without_query(url)
        hits = dig(data, "hits", "hits")
        if not isinstance(hits, list):
            raise BadResponse(f"no hits.hits list in the records from {url}")
        records: list[RestRecord] = []
        warnings: list[str] = []
        for rid, hit in identified(hits, lambda hit: hit.get("id"), warnings, f"{url}: hit"):
            metadata = hit.get("metadata")
            community = metadata.get("community") if isinstance(metadata, dict) else None
            records.append(
                RestRecord(
                    source_id=rid,
                    payload=hit,
                    raw=compact_json(hit),
                    datestamp=parse_timestamp(hit.get("updated")),
                    sets=[community] if isinstance(community, str) and community else [],
                    skip=None if is_published(hit) else "a draft, not published",
                )
            )
        return RestPage(records, total=self.total, warnings=warnings)


def _total(data: Any, url: str) -> int:
    total = dig(data, "hits", "total")
    if isinstance(total, dict):  # Elasticsearch 7 style {"value": n, "relation": "eq"}
        total = total.get("value")
    if not isinstance(total, int) or isinstance(total, bool) or total < 0:
        raise BadResponse(f"no hits.total count in the records from {url}")
    return total
