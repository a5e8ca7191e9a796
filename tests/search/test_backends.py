"""One suite for every search backend: embedded (tantivy), OpenSearch and Elasticsearch.

The cluster backends run against osmem (an in-memory OpenSearch-compatible server from
PyPI; the elasticsearch client through a test-only node class), or against the real cluster
that CATALOGUE_TEST_SEARCH_URL names. Same documents, same queries: equal totals, facet
counts and order, sort orders, paging and highlights.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from catalogue.model import Record, record_id
from catalogue.search.base import (
    FACET_SIZE,
    FACETS,
    QuerySyntaxError,
    SearchIndex,
    SearchQuery,
    sorted_buckets,
)
from catalogue.search.documents import to_document
from catalogue.search.sort_keys import SORT_FIELDS, sort_keys

from .cluster_support import drop_alias, open_cluster, unique_alias
from .synthetic import CORPUS_SIZE, small_index, synthetic_metadata, synthetic_record

# records alike in every sort key but their id: more than the embedded backend reads
# around a page (TIE_SLACK), so long runs of equal keys are paged exactly too
TIES = 130

if os.environ.get("CATALOGUE_TEST_SEARCH_URL"):
    CLUSTERS = [os.environ["CATALOGUE_TEST_SEARCH_URL"].split("+")[0]]
else:
    CLUSTERS = ["opensearch", "elasticsearch"]
BACKENDS = ["embedded", *CLUSTERS]


def tie_record(n: int) -> Record:
    md = synthetic_metadata(1)
    md["titles"] = [{"title": "Identical twin record"}]
    md["descriptions"] = [{"description": "Twins measured alike."}]
    return Record(
        id=record_id("gamma", f"tie-{n}"),
        source="gamma",
        source_id=f"tie-{n}",
        metadata=md,
        datestamp=datetime(2024, 6, 1),
    )


@pytest.fixture(scope="module")
def docs() -> list[dict[str, Any]]:
    records = [synthetic_record(i) for i in range(CORPUS_SIZE)]
    records += [tie_record(n) for n in range(TIES)]
    return [to_document(r) for r in records]


@pytest.fixture(scope="module")
def osmem_module_url(request: pytest.FixtureRequest) -> Iterator[str]:
    if os.environ.get("CATALOGUE_TEST_SEARCH_URL"):
        yield ""
        return
    server = request.getfixturevalue("osmem_server")
    clone = server.clone()
    yield clone.url
    clone.close()


def make_index(
    kind: str, tmp: Path, osmem_url: str, docs: list[dict[str, Any]]
) -> tuple[SearchIndex, SearchIndex]:
    """(writer, reader) of a backend holding ``docs`` in two commits."""
    if kind == "embedded":
        writer: Any = small_index(tmp / "index")
    else:
        url = os.environ.get("CATALOGUE_TEST_SEARCH_URL") or f"{kind}+{osmem_url}"
        writer = open_cluster(url, unique_alias(), f"sqlite:///{tmp / 'state.sqlite3'}")
    half = len(docs) // 2
    writer.upsert(docs[:half])
    writer.commit(1)
    writer.upsert(docs[half:])
    writer.commit(2)
    if kind == "embedded":
        return writer, small_index(tmp / "index", writer=False)
    reader = open_cluster(
        os.environ.get("CATALOGUE_TEST_SEARCH_URL") or f"{kind}+{osmem_url}",
        writer.alias,
        f"sqlite:///{tmp / 'state.sqlite3'}",
        writer=False,
    )
    return writer, reader


@pytest.fixture(scope="module", params=BACKENDS)
def backend(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    osmem_module_url: str,
    docs: list[dict[str, Any]],
) -> Iterator[SearchIndex]:
    writer, reader = make_index(
        request.param, tmp_path_factory.mktemp(request.param), osmem_module_url, docs
    )
    yield reader
    reader.close()
    if request.param != "embedded":
        drop_alias(writer)
    writer.close()


@pytest.fixture(scope="module")
def embedded(tmp_path_factory: pytest.TempPathFactory, docs: list) -> Iterator[SearchIndex]:
    writer, reader = make_index("embedded", tmp_path_factory.mktemp("ref"), "", docs)
    writer.close()
    yield reader
    reader.close()


QUERIES = [
    "",
    "*",
    "oceans",
    "glacier melt",
    "glacier OR forest",
    "forest -oceanography",
    "+forest glacier",
    "forest^3 OR glacier",
    "title:forest",
    "description:campaign",
    "creator:researcher7",
    "year:2005",
    "year:[2000 TO 2004]",
    "year:{2000 TO 2004}",
    "year:[2015 TO *]",
    "type:Software",
    "subject:Oceanography",
    '"10.1234/syn.17"',
    '"ocean observations"~2',
    "10.1234/syn.17",
    "researcher7",
    "oceanography",
    "campaign",
    "twin",
    "Earth AND sciences",
    "(forest OR glacier) -oceanography",
    "title:(ocean temperature)",
    "!!!",
    "hello !!!",
    "ünïcödé 漢字 🌊",
    "a" * 60,
]
FILTERS: list[dict[str, tuple[str, ...]]] = [
    {},
    {"language": ("de",)},
    {"year": ("2001", "2002"), "type": ("Dataset",)},
    {"subject": ("Oceanography", "No such")},
    {"rights": ("CC-BY-4.0",), "access": ("open",), "source": ("alpha",)},
]


@pytest.mark.parametrize("q", QUERIES)
def test_totals_and_facets_equal_the_embedded_backend(
    backend: SearchIndex, embedded: SearchIndex, q: str
) -> None:
    for filters in FILTERS:
        query = SearchQuery(q=q, filters=filters, size=0)
        got, want = backend.search(query), embedded.search(query)
        assert got.total == want.total, (q, filters)
        assert got.aggregations == want.aggregations, (q, filters)


def test_match_all_total_and_facet_counts(backend: SearchIndex, docs: list) -> None:
    result = backend.search(SearchQuery(size=0))
    assert result.total == backend.count() == len(docs)
    assert list(result.aggregations) == list(FACETS)
    for facet, field in FACETS.items():
        counts = Counter(v for d in docs for v in _values(d, field))
        expected = sorted_buckets([{"key": k, "count": n} for k, n in counts.items()])
        assert result.aggregations[facet] == expected[:FACET_SIZE], facet


def test_expected_totals(backend: SearchIndex) -> None:
    def total(q: str) -> int:
        return backend.search(SearchQuery(q=q, size=0, facets=False)).total

    assert total("oceans") == CORPUS_SIZE // 4
    assert total("glacier OR forest") == CORPUS_SIZE // 2
    assert total("year:[2000 TO 2004]") == len([i for i in range(CORPUS_SIZE) if i % 20 < 5]) + TIES
    assert total('"10.1234/syn.17"') == 1
    assert total("twin") == TIES
    assert total("!!!") == total("") == CORPUS_SIZE + TIES  # no words: nothing to narrow by
    assert total("climate change") == total("climate OR change")  # either word will do


@pytest.mark.parametrize("sort", [s for s in SORT_FIELDS if s != "relevance"])
def test_sorts_break_ties_by_record_id(backend: SearchIndex, docs: list, sort: str) -> None:
    field, descending = SORT_FIELDS[sort]
    expected = sorted(docs, key=lambda d: sort_keys(d)[field], reverse=descending)
    result = backend.search(SearchQuery(sort=sort, size=len(docs), facets=False))
    assert [h["id"] for h in result.hits] == [d["id"] for d in expected]


@pytest.mark.parametrize("size", [1, 3, 7])
@pytest.mark.parametrize("sort", [s for s in SORT_FIELDS if s != "relevance"])
def test_numbered_pages_follow_the_whole_sort(
    backend: SearchIndex, docs: list, sort: str, size: int
) -> None:
    """Page by page, every edge case of a run of equal keys (ending on the page's first or
    last hit, crossing either edge, filling the page) gives the one sorted order."""
    field, descending = SORT_FIELDS[sort]
    expected = [
        d["id"] for d in sorted(docs, key=lambda d: sort_keys(d)[field], reverse=descending)
    ]
    seen: list[str] = []
    for page in range(1, len(docs) // size + 2):
        seen += [
            h["id"]
            for h in backend.search(SearchQuery(sort=sort, page=page, size=size, facets=False)).hits
        ]
    assert seen == expected


@pytest.mark.parametrize("sort", list(SORT_FIELDS))
def test_cursor_paging_visits_every_hit_once(backend: SearchIndex, docs: list, sort: str) -> None:
    seen: list[str] = []
    after = None
    for _ in range(100):
        result = backend.search(SearchQuery(sort=sort, size=7, after=after, facets=False))
        seen += [h["id"] for h in result.hits]
        if result.cursor is None:
            break
        after = result.cursor
    assert len(seen) == len(set(seen)) == len(docs)


@pytest.mark.parametrize("size", [4, 7, 30])
@pytest.mark.parametrize("sort", ["relevance", "updated", "oldest", "-title"])
def test_equal_keys_are_ordered_by_id(backend: SearchIndex, size: int, sort: str) -> None:
    pages = []
    for page in range(1, TIES // size + 2):
        result = backend.search(SearchQuery(q="twin", sort=sort, page=page, size=size))
        pages += [h["id"] for h in result.hits]
    descending = sort in ("updated", "-title")
    assert pages == sorted(pages, reverse=descending) and len(pages) == TIES


def test_page_paging_matches_cursor_paging(backend: SearchIndex) -> None:
    by_page = [
        h["id"]
        for page in range(1, 4)
        for h in backend.search(SearchQuery(sort="title", page=page, size=50)).hits
    ]
    first = backend.search(SearchQuery(sort="title", size=50))
    second = backend.search(SearchQuery(sort="title", size=50, after=first.cursor))
    third = backend.search(SearchQuery(sort="title", size=50, after=second.cursor))
    assert by_page == [h["id"] for r in (first, second, third) for h in r.hits]


def test_hits_are_the_stored_records(backend: SearchIndex, docs: list) -> None:
    import json

    result = backend.search(SearchQuery(q='"10.1234/syn.42"'))
    assert result.hits == [json.loads(docs[42]["record"])]


def test_highlights_mark_matched_words(backend: SearchIndex) -> None:
    result = backend.search(SearchQuery(q="glaciers", size=3))
    assert len(result.hits) == 3
    for hit in result.hits:
        fragments = result.highlights[hit["id"]]
        assert any("<mark>Glacier</mark>" in f for f in fragments["title"])
        assert any("<mark>glacier</mark>" in f for f in fragments["description"])
    assert backend.search(SearchQuery(size=3)).highlights == {}


@pytest.mark.parametrize(
    "q", ["(((", "title:", "a OR", '"unterminated', "nosuchfield:x", "year:abc", "NOT forest"]
)
def test_bad_syntax_is_refused_alike(backend: SearchIndex, q: str) -> None:
    with pytest.raises(QuerySyntaxError):
        backend.search(SearchQuery(q=q))


def _values(doc: dict[str, Any], field: str) -> list[str]:
    value = doc[field]
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]
