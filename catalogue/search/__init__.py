"""Search: the backend interface, the embedded (tantivy) and cluster (Elasticsearch, OpenSearch)
backends and the change-log indexer."""

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
    SearchUnavailable,
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
    "SearchUnavailable",
]
