"""The sort keys every backend sorts by: one order per sort, the record id breaking ties.

The cluster backend sorts on strings that end with the record id (``sort_keys``), so no two
documents tie and search_after pages never repeat or skip. tantivy sorts strings slowly
deep into a result (~0.7 s at offset 10,000 of 20,000 documents against ~1 ms for an
integer), so the embedded backend sorts on integers of their parts
(``embedded_sort_values``) and orders each run of equal integers itself: both list the
same records in the same order for every sort but relevance (whose scores differ).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from functools import lru_cache
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
        "sort_title": title_key(doc),
    }


def title_key(doc: Mapping[str, Any]) -> str:
    """The ``sort_title`` key of a search document."""
    return f"{doc.get('title_sort') or ''}{SEPARATOR}{doc['id']}"


# The title key's first bytes and the bytes after them, as integers: titles often share
# their first 7 bytes ("Measure", "Dataset"); few share 14.
TITLE_PREFIX_FIELDS = ("sort_title_prefix", "sort_title_prefix2")
# sort name -> (the embedded index's integer fields, each ordering the runs of equal values
# of the one before, and the stored field that orders the last one's runs): dates
# tie-break on the id; titles on the whole string key (its first bytes are the integers)
INTEGER_SORT_FIELDS: dict[str, tuple[tuple[str, ...], str]] = {
    "newest": (("sort_newest",), "id"),
    "oldest": (("sort_oldest",), "id"),
    "updated": (("datestamp",), "id"),
    "title": (TITLE_PREFIX_FIELDS, "sort_title"),
    "-title": (TITLE_PREFIX_FIELDS, "sort_title"),
}
# The embedded index's integer key of relevance without a query (every score equal: the
# record id alone orders); its ties are ordered by the id itself.
ID_PREFIX_FIELD = "sort_id_prefix"
_YEAR_SCALE = 10**12  # above any epoch second up to year 9999
_PREFIX_BYTES = 7  # of a string key in a positive 64-bit integer


def embedded_sort_values(doc: Mapping[str, Any], title: str) -> dict[str, int]:
    """The integer sort fields of a search document whose string title key (``title_key``)
    is ``title``, in the order of the string keys with ties where those go on:
    the embedded index stores that key too, so it is built once per document."""
    year = doc.get("year")
    seconds = epoch_seconds(doc.get("datestamp"))
    newest = -_NO_YEAR if year is None else year
    oldest = _NO_YEAR if year is None else year
    return {
        "sort_newest": newest * _YEAR_SCALE + seconds,
        "sort_oldest": oldest * _YEAR_SCALE + seconds,
        "datestamp": seconds,
        **{field: _prefix_integer(title, n) for n, field in enumerate(TITLE_PREFIX_FIELDS)},
        ID_PREFIX_FIELD: _prefix_integer(doc["id"]),
    }


def _prefix_integer(key: str, part: int = 0) -> int:
    """Bytes ``part * 7`` to ``part * 7 + 7`` of ``key`` (UTF-8) as an integer: the parts
    in turn order keys as the strings, with ties where only later bytes differ (padding
    with NUL puts "abc" before "abcd")."""
    chunk = key.encode()[part * _PREFIX_BYTES : (part + 1) * _PREFIX_BYTES]
    return int.from_bytes(chunk.ljust(_PREFIX_BYTES, b"\0"), "big")


# The records of a page share their datestamp: most documents of a batch hit the cache.
@lru_cache(maxsize=1024)
def epoch_seconds(stamp: str | None) -> int:
    """Seconds since 1970 of a catalogue datestamp ("YYYY-MM-DDTHH:MM:SSZ"); 0 when absent."""
    if not stamp:
        return 0
    parsed = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return min(max(int(parsed.timestamp()), 0), _MAX_SECONDS)
