"""Search pages bounded in bytes: a page stops adding hits once it holds
``max_response_bytes`` (at least one hit), and the API's next link carries on at the first
hit left out (``start``).

Hits are read in growing chunks (the first one with the facets), each no larger than the
remaining budget holds at the largest hit seen so far, so a page of large records never
sits in memory whole: twenty 5 MB records made one default page 105 MB before.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from catalogue.search.base import SearchIndex, SearchQuery, SearchResult
from catalogue.web.limits import json_size

FIRST_CHUNK = 25


def bounded_search(index: SearchIndex, query: SearchQuery, max_bytes: int) -> SearchResult:
    """``index.search(query)`` with at most about ``max_bytes`` of hits; fewer hits than
    ``query.size`` (while ``total`` says more follow) means the page was cut short."""
    if query.size == 0:
        return index.search(query)
    asked = min(query.size, FIRST_CHUNK)
    result = index.search(replace(query, size=asked, start=query.offset))
    hits: list[dict[str, Any]] = []
    batch = result.hits
    used = 0
    biggest = 1
    while True:
        for hit in batch:
            size = json_size(hit)
            biggest = max(biggest, size)
            hits.append(hit)
            used += size
            if used >= max_bytes:
                return SearchResult(result.total, hits, result.aggregations)
        done = len(hits) >= query.size or query.offset + len(hits) >= result.total
        if done or len(batch) < asked:
            return SearchResult(result.total, hits, result.aggregations)
        asked = min(query.size - len(hits), 2 * asked, max(1, (max_bytes - used) // biggest))
        more = index.search(
            replace(query, size=asked, start=query.offset + len(hits), facets=False)
        )
        batch = more.hits
