"""Search: the backend interface, the embedded tantivy backend and the change-log indexer."""

from catalogue.search.base import (
    FACETS,
    SORTS,
    IndexLocked,
    QuerySyntaxError,
    SchemaMismatch,
    SearchError,
    SearchIndex,
    SearchQuery,
    SearchResult,
)

__all__ = [
    "FACETS",
    "SORTS",
    "IndexLocked",
    "QuerySyntaxError",
    "SchemaMismatch",
    "SearchError",
    "SearchIndex",
    "SearchQuery",
    "SearchResult",
]
