"""Search pages bounded in bytes: a page stops adding hits once it holds
``max_response_bytes`` (at least one hit), and its ``cursor`` then points right after the
last hit shown, so the API's next link carries on from there.

Hits are read in chunks (the first one with the facets, the others after the previous
chunk's cursor), each no larger than the remaining budget holds at the largest hit seen so
far (ordinary pages: two queries), so a page of large records never sits in memory whole:
twenty 5 MB records made one default page 105 MB before.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from catalogue.search.base import SearchIndex, SearchQuery, SearchResult
from catalogue.web.limits import response_size

FIRST_CHUNK = 25


@dataclass
class BoundedResult(SearchResult):
    """A result whose page was cut short by its size in bytes (``cut``)."""

    cut: bool = False


def bounded_search(index: SearchIndex, query: SearchQuery, max_bytes: int) -> SearchResult:
    """``index.search(query)`` holding at most about ``max_bytes`` of hits."""
    if query.size <= FIRST_CHUNK:
        result = index.search(query)
        return _cut(index, query, result, max_bytes) if _size(result) > max_bytes else result
    asked = FIRST_CHUNK
    # the first chunk keeps the page's position (its offset, or the cursor it starts after)
    chunk = replace(query, size=asked, start=None if query.after else query.offset)
    result = index.search(chunk)
    hits: list[dict[str, Any]] = []
    highlights = dict(result.highlights)
    batch, cursor = result.hits, result.cursor
    used, biggest = 0, 1
    while True:
        for n, hit in enumerate(batch):
            size = response_size(hit)
            biggest = max(biggest, size)
            hits.append(hit)
            used += size
            if used >= max_bytes and len(hits) < query.size:
                if n < len(batch) - 1:  # the cursor must point after this hit, not the chunk
                    cursor = index.search(replace(chunk, size=n + 1, facets=False)).cursor
                return BoundedResult(
                    result.total,
                    hits,
                    result.aggregations,
                    cursor,
                    highlights,
                    cut=cursor is not None,
                )
        if len(hits) >= query.size or cursor is None or len(batch) < chunk.size:
            return SearchResult(result.total, hits, result.aggregations, cursor, highlights)
        asked = min(query.size - len(hits), max(1, (max_bytes - used) // biggest))
        chunk = replace(query, size=asked, after=cursor, start=None, facets=False)
        more = index.search(chunk)
        highlights.update(more.highlights)
        batch, cursor = more.hits, more.cursor


def _size(result: SearchResult) -> int:
    return sum(response_size(hit) for hit in result.hits)


def _cut(
    index: SearchIndex, query: SearchQuery, result: SearchResult, max_bytes: int
) -> SearchResult:
    """A small page over budget: keep the hits that fit (at least one), cursor after them."""
    used, keep = 0, 0
    for hit in result.hits:
        keep += 1
        used += response_size(hit)
        if used >= max_bytes:
            break
    if keep >= len(result.hits):
        return result
    shorter = replace(query, size=keep, facets=False, start=None if query.after else query.offset)
    cursor = index.search(shorter).cursor
    hits = result.hits[:keep]
    highlights = {k: v for k, v in result.highlights.items() if k in {h.get("id") for h in hits}}
    return BoundedResult(
        result.total, hits, result.aggregations, cursor, highlights, cut=cursor is not None
    )
