"""The search backend interface and its value types.

The web layer and the indexer depend on :class:`SearchIndex` only; the embedded tantivy
backend (``embedded.py``) and the cluster backend for Elasticsearch and OpenSearch
(``cluster.py``) implement it. Documents handed to a backend are the flat dicts built by
:func:`catalogue.search.documents.to_document`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Protocol

# Public facet/filter name -> document field that holds its values (exact, untokenized).
FACETS: dict[str, str] = {
    "source": "source",
    "type": "type",
    "year": "year",
    "subject": "subject",
    "language": "language",
    "publisher": "publisher",
    "rights": "rights",
    "access": "access",
}

# Analysed (stemmed) fields of a search document a query may name; ``text`` holds everything.
TEXT_FIELDS = ("title", "description", "creator", "text")
# Facets whose values are also indexed folded (lower case) as "facet=value" in FOLDED_FIELD:
# facet filters and fielded facet queries compare case-insensitively in every backend.
FOLDED_FACETS = tuple(name for name in FACETS if name != "year")
FOLDED_FIELD = "facet_folded"

# Guards against queries that crash or stall a recursive query parser (tantivy's among them).
MAX_QUERY_LENGTH = 1000
MAX_QUERY_NESTING = 16

SORTS: tuple[str, ...] = ("relevance", "newest", "oldest", "title", "-title", "updated")

# Buckets returned per facet (selected filter values are always added on top).
FACET_SIZE = 20


@dataclass(frozen=True)
class SearchQuery:
    """One search request, already validated by the caller (the API layer).

    ``filters`` maps facet names (keys of :data:`FACETS`) to the accepted values: AND
    across facets, OR within one facet. ``page`` is 1-based. ``after`` is the ``cursor``
    of the previous page's result (deep paging): when given, the page starts right after
    that hit and ``page`` only names it.
    """

    q: str = ""
    filters: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))
    page: int = 1
    size: int = 20
    sort: str = "relevance"
    facets: bool = True
    after: tuple[Any, ...] | None = None
    # First hit (0-based) instead of ``(page - 1) * size``, without ``after``: the API reads
    # a page in chunks (pages are bounded in bytes; catalogue.web.search_pages).
    start: int | None = None

    def __post_init__(self) -> None:
        unknown = set(self.filters) - set(FACETS)
        if unknown:
            raise ValueError(f"unknown filter(s): {', '.join(sorted(unknown))}")
        if self.sort not in SORTS:
            raise ValueError(f"unknown sort {self.sort!r}; one of {', '.join(SORTS)}")
        if self.page < 1 or self.size < 0:
            raise ValueError("page must be >= 1 and size >= 0")

    @property
    def offset(self) -> int:
        return self.start if self.start is not None else (self.page - 1) * self.size


@dataclass
class SearchResult:
    """Total hit count, one page of hits (each a stored ``Record.as_dict()``) and facets.

    ``aggregations`` maps facet name -> ``[{"key": str, "count": int}, ...]``, count desc,
    then key (so every backend lists equal counts in the same order). ``cursor`` is what to
    pass as ``SearchQuery.after`` for the page after this one (None when there is none);
    its values are the backend's own and JSON-serialisable. ``highlights`` maps a hit's id
    to ``{field: [HTML fragment with <mark> around matched words, ...]}`` where the backend
    has any.
    """

    total: int
    hits: list[dict[str, Any]]
    aggregations: dict[str, list[dict[str, Any]]]
    cursor: tuple[Any, ...] | None = None
    highlights: dict[str, dict[str, list[str]]] = field(default_factory=dict)


class SearchError(Exception):
    """Base of every search backend error."""


class QuerySyntaxError(SearchError):
    """The user's query cannot be parsed or run (the API answers 400)."""


class IndexLocked(SearchError):
    """Another process (or object) holds the index writer."""


class SchemaMismatch(SearchError):
    """The index on disk was built with another schema; it has to be rebuilt."""


class SearchUnavailable(SearchError):
    """The search engine cannot be reached or is overloaded (the API answers 503)."""

    def __init__(self, message: str, retry_after: int = 5) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def sorted_buckets(buckets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Facet buckets in their one order: count descending, then key."""
    return sorted(buckets, key=lambda b: (-b["count"], b["key"]))


class SearchIndex(Protocol):
    """What the indexer and the web app need from a search backend."""

    def upsert(self, docs: Sequence[dict[str, Any]]) -> None:
        """Add documents, replacing any indexed document with the same id."""

    def delete(self, ids: Sequence[str]) -> None:
        """Remove documents by id (ids that are not indexed are ignored)."""

    def commit(self, checkpoint: int) -> None:
        """Make pending changes visible and durably record the change-log seq they reach."""

    def checkpoint(self) -> int:
        """The change-log seq applied by the last commit (0 for a new or cleared index)."""

    def clear(self) -> None:
        """Drop every document and reset the checkpoint to 0, as part of the next commit."""

    def needs_rebuild(self) -> bool:
        """Whether this writer found the index built with another schema (or mapping), so
        that only a rebuild (``clear()``, every record, ``commit``) makes it searchable."""

    def search(self, query: SearchQuery) -> SearchResult:
        """Run a query; raises QuerySyntaxError when ``query.q`` is not acceptable."""

    def count(self) -> int:
        """Number of documents visible to readers."""

    def reload(self) -> None:
        """Make the latest commit (possibly by another process) visible to this reader."""

    def close(self) -> None:
        """Release the writer lock and any resources; uncommitted changes are dropped."""
