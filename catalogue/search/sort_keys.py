"""The sort keys every backend sorts by: one string per sort and document.

Each key ends with the record id, so no two documents tie: paging (by offset or by
search_after) never repeats or skips a record, and the embedded and cluster backends list
the same records in the same order for every sort but relevance (whose scores differ).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

# sort name -> (index field, descending?); None = relevance (score, then record id)
SORT_FIELDS: dict[str, tuple[str, bool] | None] = {
    "relevance": None,
    "newest": ("sort_newest", True),
    "oldest": ("sort_oldest", False),
    "title": ("sort_title", False),
    "-title": ("sort_title", True),
    "updated": ("sort_updated", True),
}

SEPARATOR = "\x1f"  # below every printable character: "abc" sorts before "abc d"
_NO_YEAR = 10_000  # outside publicationYear's range -9999..9999
_MAX_SECONDS = 10**12 - 1


def sort_keys(doc: Mapping[str, Any]) -> dict[str, str]:
    """The sort fields of a search document (see ``documents.py``)."""
    rid = doc["id"]
    year = doc.get("year")
    seconds = epoch_seconds(doc.get("datestamp"))
    # "newest"/"oldest" order by year, then datestamp; records without a year go last
    newest = -_NO_YEAR if year is None else year
    oldest = _NO_YEAR if year is None else year
    return {
        "sort_newest": f"{newest + _NO_YEAR:05d}{seconds:012d}{SEPARATOR}{rid}",
        "sort_oldest": f"{oldest + _NO_YEAR:05d}{seconds:012d}{SEPARATOR}{rid}",
        "sort_updated": f"{seconds:012d}{SEPARATOR}{rid}",
        "sort_title": f"{doc.get('title_sort') or ''}{SEPARATOR}{rid}",
    }


def epoch_seconds(stamp: str | None) -> int:
    """Seconds since 1970 of a catalogue datestamp ("YYYY-MM-DDTHH:MM:SSZ"); 0 when absent."""
    if not stamp:
        return 0
    parsed = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return min(max(int(parsed.timestamp()), 0), _MAX_SECONDS)
