"""The embedded tantivy backend: search, filters, facets, sorts, paging, locking, schema."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from catalogue.search.base import (
    FACETS,
    IndexLocked,
    QuerySyntaxError,
    SchemaMismatch,
    SearchError,
    SearchQuery,
)
from catalogue.search.embedded import META_FILE, TantivyIndex

from .synthetic import CORPUS_SIZE


def ids(result: Any) -> list[str]:
    return [hit["id"] for hit in result.hits]


def values(doc: dict[str, Any], field: str) -> list[str]:
    value = doc[field]
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def test_match_all_and_count(corpus_index: TantivyIndex) -> None:
    assert corpus_index.count() == CORPUS_SIZE
    result = corpus_index.search(SearchQuery(size=5))
    assert result.total == CORPUS_SIZE
    assert len(result.hits) == 5
    assert corpus_index.checkpoint() == 2


def test_hits_are_stored_records(corpus_index: TantivyIndex, corpus: list) -> None:
    result = corpus_index.search(SearchQuery(q="observations 0042"))
    assert result.hits[0] == json.loads(json.dumps(corpus[42].as_dict()))


def test_text_search_with_stemming(corpus_index: TantivyIndex, corpus_docs: list) -> None:
    expected = {d["id"] for d in corpus_docs if any("Ocean" in t for t in d["title"])}
    result = corpus_index.search(SearchQuery(q="oceans", size=200))
    assert result.total == len(expected) == CORPUS_SIZE // 4
    assert set(ids(result)) == expected


def test_terms_are_anded_by_default(corpus_index: TantivyIndex) -> None:
    both = corpus_index.search(SearchQuery(q="glacier melt"))
    either = corpus_index.search(SearchQuery(q="glacier OR forest"))
    assert both.total == CORPUS_SIZE // 4
    assert either.total == CORPUS_SIZE // 2


def test_searches_descriptions_creators_subjects_identifiers(corpus_index: TantivyIndex) -> None:
    assert corpus_index.search(SearchQuery(q="campaign")).total == CORPUS_SIZE
    assert corpus_index.search(SearchQuery(q="researcher7")).total == len(
        [i for i in range(CORPUS_SIZE) if i % 13 == 7]
    )
    assert corpus_index.search(SearchQuery(q="oceanography")).total == CORPUS_SIZE // 5
    assert corpus_index.search(SearchQuery(q='"10.1234/syn.17"')).total == 1


def test_fielded_queries(corpus_index: TantivyIndex) -> None:
    assert corpus_index.search(SearchQuery(q="title:forest")).total == CORPUS_SIZE // 4
    assert corpus_index.search(SearchQuery(q="year:2005")).total == len(
        [i for i in range(CORPUS_SIZE) if i % 20 == 5]
    )
    assert corpus_index.search(SearchQuery(q="year:[2000 TO 2004]")).total == len(
        [i for i in range(CORPUS_SIZE) if i % 20 < 5]
    )
    assert corpus_index.search(SearchQuery(q="type:Software")).total == CORPUS_SIZE // 3


@pytest.mark.parametrize("facet", sorted(FACETS))
def test_each_filter(corpus_index: TantivyIndex, corpus_docs: list, facet: str) -> None:
    field = FACETS[facet]
    counts = Counter(v for d in corpus_docs for v in values(d, field))
    value, expected = counts.most_common()[-1]
    result = corpus_index.search(SearchQuery(filters={facet: (value,)}, size=300))
    assert result.total == expected
    assert {h["id"] for h in result.hits} == {
        d["id"] for d in corpus_docs if value in values(d, field)
    }


def test_filters_or_within_and_across(corpus_index: TantivyIndex, corpus_docs: list) -> None:
    query = SearchQuery(
        filters={"year": ("2001", "2002"), "type": ("Dataset",), "language": ("en",)}, size=300
    )
    expected = {
        d["id"]
        for d in corpus_docs
        if d["year"] in (2001, 2002) and d["type"] == "Dataset" and d["language"] == "en"
    }
    result = corpus_index.search(query)
    assert expected and set(ids(result)) == expected


def test_unknown_filter_values_match_nothing(corpus_index: TantivyIndex) -> None:
    assert corpus_index.search(SearchQuery(filters={"year": ("abc",)})).total == 0
    assert corpus_index.search(SearchQuery(filters={"source": ("nope",)})).total == 0
    with pytest.raises(ValueError):
        SearchQuery(filters={"colour": ("red",)})


def test_facet_counts(corpus_index: TantivyIndex, corpus_docs: list) -> None:
    result = corpus_index.search(SearchQuery(size=0))
    assert result.hits == []
    assert set(result.aggregations) == set(FACETS)
    for facet, field in FACETS.items():
        expected = Counter(v for d in corpus_docs for v in values(d, field))
        got = {b["key"]: b["count"] for b in result.aggregations[facet]}
        assert got == dict(expected.most_common(20)), facet
        counts = [b["count"] for b in result.aggregations[facet]]
        assert counts == sorted(counts, reverse=True)
    # multi-valued: each record counts once per subject it has
    subjects = {b["key"]: b["count"] for b in result.aggregations["subject"]}
    assert subjects == {
        "Earth sciences": CORPUS_SIZE,
        "Oceanography": CORPUS_SIZE // 5,
        "Climate change": len(range(0, CORPUS_SIZE, 7)),
    }
    assert {b["key"] for b in result.aggregations["access"]} == {"open", "closed", "unknown"}
    assert {b["key"] for b in result.aggregations["rights"]} == {"CC-BY-4.0", "CC0-1.0"}


def test_facets_follow_query_and_other_filters(corpus_index: TantivyIndex) -> None:
    result = corpus_index.search(SearchQuery(q="forest", filters={"language": ("de",)}))
    # the language facet ignores its own filter (OR within a facet) but not the query
    languages = {b["key"]: b["count"] for b in result.aggregations["language"]}
    assert languages == {"en": 0, "de": 0} | languages
    assert sum(languages.values()) == CORPUS_SIZE // 4
    # other facets count the filtered hits
    assert sum(b["count"] for b in result.aggregations["type"]) == result.total


def test_selected_filter_values_always_in_facets(corpus_index: TantivyIndex) -> None:
    result = corpus_index.search(SearchQuery(q="forest", filters={"subject": ("No such",)}))
    assert result.total == 0
    assert {"key": "No such", "count": 0} in result.aggregations["subject"]
    assert result.aggregations["type"] == []


def test_facets_can_be_skipped(corpus_index: TantivyIndex) -> None:
    assert corpus_index.search(SearchQuery(facets=False)).aggregations == {}


@pytest.mark.parametrize(
    ("sort", "key", "reverse"),
    [
        ("title", lambda d: d["title_sort"], False),
        ("-title", lambda d: d["title_sort"], True),
        ("updated", lambda d: d["datestamp"], True),
        ("newest", lambda d: (d["year"] is not None, d["year"] or 0, d["datestamp"]), True),
    ],
)
def test_sorts(corpus_index: TantivyIndex, corpus_docs: list, sort: str, key, reverse) -> None:
    result = corpus_index.search(SearchQuery(sort=sort, size=CORPUS_SIZE))
    expected = [d["id"] for d in sorted(corpus_docs, key=key, reverse=reverse)]
    assert ids(result) == expected


def test_oldest_puts_records_without_year_last(
    corpus_index: TantivyIndex, corpus_docs: list
) -> None:
    result = corpus_index.search(SearchQuery(sort="oldest", size=CORPUS_SIZE))
    expected = sorted(
        corpus_docs, key=lambda d: (d["year"] is None, d["year"] or 0, d["datestamp"])
    )
    assert ids(result) == [d["id"] for d in expected]


def test_relevance_ranks_title_matches_first(corpus_index: TantivyIndex) -> None:
    result = corpus_index.search(SearchQuery(q="forest OR oceanography", size=10))
    assert all("Forest" in h["metadata"]["titles"][0]["title"] for h in result.hits[:5])


def test_paging(corpus_index: TantivyIndex) -> None:
    seen: list[str] = []
    for page in range(1, 5):
        result = corpus_index.search(SearchQuery(sort="title", page=page, size=80))
        assert result.total == CORPUS_SIZE
        seen += ids(result)
    assert len(seen) == len(set(seen)) == CORPUS_SIZE
    past_end = corpus_index.search(SearchQuery(page=100, size=20))
    assert past_end.total == CORPUS_SIZE and past_end.hits == []


HOSTILE = [
    "(((",
    "title:",
    "*",
    ":",
    "AND",
    "a OR",
    '"unterminated',
    "nosuchfield:x",
    "year:abc",
    "year:[1 TO",
    "[* TO *]",
    "text:*",
    "NOT forest",
    "-forest",
    "forest~2",
    "forest^3",
    "record:x",
    "\x00\x01",
    "ünïcödé 漢字 🌊",
    "a" * 999,
    "word " * 199,
    "(" * 16 + "forest" + ")" * 16,
    "(" * 17 + "forest" + ")" * 17,
    "(" * 10000 + "forest" + ")" * 10000,
    "x" * 100_000,
    "id:*",
    "title:/.*/",
    "' OR 1=1 --",
    "<script>alert(1)</script>",
]


@pytest.mark.parametrize("q", HOSTILE, ids=lambda q: repr(q[:20]) + f"/{len(q)}")
def test_hostile_queries(corpus_index: TantivyIndex, q: str) -> None:
    try:
        result = corpus_index.search(SearchQuery(q=q))
    except QuerySyntaxError:
        return
    assert result.total >= 0


def test_absurd_page_depth_is_refused(corpus_index: TantivyIndex) -> None:
    with pytest.raises(SearchError, match="beyond"):
        corpus_index.search(SearchQuery(page=10**9, size=200))


def test_empty_and_star_match_all(corpus_index: TantivyIndex) -> None:
    for q in ("", "   ", "*"):
        assert corpus_index.search(SearchQuery(q=q, facets=False)).total == CORPUS_SIZE


def test_upsert_replaces_and_delete_removes(open_index, corpus_docs: list) -> None:
    index = open_index()
    index.upsert(corpus_docs[:10])
    index.commit(1)
    renamed = ["Completely renamed"]
    changed = dict(corpus_docs[3], title=renamed, text=renamed, title_sort="completely renamed")
    index.upsert([changed, changed])
    index.delete([corpus_docs[4]["id"], "not-indexed"])
    index.commit(2)
    assert index.count() == 9
    assert ids(index.search(SearchQuery(q="renamed"))) == [corpus_docs[3]["id"]]
    assert index.search(SearchQuery(q="+observations +0003")).total == 0
    assert index.search(SearchQuery(q="+observations +0004")).total == 0


def test_uncommitted_changes_are_dropped_on_close(open_index, tmp_path: Path, corpus_docs) -> None:
    index = open_index()
    index.upsert(corpus_docs[:5])
    index.commit(7)
    index.upsert(corpus_docs[5:10])
    index.clear()
    index.close()
    again = open_index()
    assert again.count() == 5
    assert again.checkpoint() == 7


def test_clear_takes_effect_at_commit(open_index, corpus_docs: list) -> None:
    index = open_index()
    reader = open_index(writer=False)
    index.upsert(corpus_docs[:5])
    index.commit(5)
    index.clear()
    assert index.checkpoint() == 0
    reader.reload()
    assert reader.count() == 5
    index.upsert(corpus_docs[5:7])
    index.commit(9)
    reader.reload()
    assert reader.count() == 2
    assert reader.checkpoint() == 9


def test_second_writer_is_locked_out(open_index) -> None:
    first = open_index()
    with pytest.raises(IndexLocked):
        open_index()
    first.close()
    open_index().close()


def _open_writers(root: str, rounds: int, barrier: Any, outcomes: Any) -> None:
    """One of two processes opening a writer on a new index at the same moment, ``rounds``
    times (a directory per round)."""
    for n in range(rounds):
        barrier.wait()
        try:
            index = TantivyIndex(Path(root) / str(n), writer=True)
        except IndexLocked:
            outcomes.put((n, "locked"))
        except Exception as exc:  # noqa: BLE001 - reported to the test
            outcomes.put((n, f"{type(exc).__name__}: {exc}"))
        else:
            outcomes.put((n, "writer"))
            barrier.wait()  # the other one has tried meanwhile
            index.close()
            continue
        barrier.wait()


def test_two_processes_creating_one_index_get_one_writer(tmp_path: Path) -> None:
    """Two indexers started at once on a new data dir: one writes, the other is locked out
    (both write the meta file first; it once crashed the second with FileNotFoundError)."""
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    rounds = 10
    barrier, outcomes = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_open_writers, args=(str(tmp_path), rounds, barrier, outcomes))
             for _ in range(2)]  # fmt: skip
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(120)
    got: dict[int, list[str]] = {}
    for _ in range(2 * rounds):
        n, outcome = outcomes.get(timeout=10)
        got.setdefault(n, []).append(outcome)
    assert all(sorted(o) == ["locked", "writer"] for o in got.values()), got


def test_reader_sees_commits_after_reload(open_index, corpus_docs: list) -> None:
    reader = open_index(writer=False)  # before any index exists: empty, not an error
    assert reader.count() == 0
    assert reader.search(SearchQuery()).total == 0
    writer = open_index()
    writer.upsert(corpus_docs[:3])
    writer.commit(3)
    reader.reload()
    assert reader.count() == 3
    writer.upsert(corpus_docs[3:4])
    writer.commit(4)
    reader.reload()
    assert reader.search(SearchQuery(q="+observations +0003")).total == 1


def test_reader_sees_commits_without_reload(open_index, corpus_docs: list) -> None:
    writer = open_index()
    reader = open_index(writer=False)
    for n in range(1, 4):
        writer.upsert(corpus_docs[n : n + 1])
        writer.commit(n)
        assert reader.search(SearchQuery(facets=False)).total == n
        assert reader.count() == n


def test_reader_cannot_write(open_index) -> None:
    open_index().close()
    reader = open_index(writer=False)
    with pytest.raises(Exception, match="read-only"):
        reader.upsert([])


def set_schema_version(path: Path, version: int) -> None:
    meta = json.loads((path / META_FILE).read_text())
    meta["schema_version"] = version
    (path / META_FILE).write_text(json.dumps(meta))


def test_schema_mismatch_is_explained(open_index, tmp_path: Path, corpus_docs: list) -> None:
    writer = open_index()
    writer.upsert(corpus_docs[:3])
    writer.commit(3)
    writer.close()
    set_schema_version(tmp_path / "index", 0)
    reader = open_index(writer=False)  # opens (the web app starts), but cannot search
    with pytest.raises(SchemaMismatch, match="catalogue reindex"):
        reader.search(SearchQuery())
    stale = open_index()
    assert stale.needs_rebuild()
    with pytest.raises(SchemaMismatch, match="catalogue reindex"):
        stale.upsert(corpus_docs[:1])
    with pytest.raises(SchemaMismatch):
        stale.search(SearchQuery())
    assert stale.checkpoint() == 0
    with pytest.raises(IndexLocked):
        open_index()  # a stale index still has one writer at a time
    stale.clear()  # wipes and recreates with the current schema
    stale.upsert(corpus_docs[:2])
    assert stale.needs_rebuild()  # until the rebuild is committed
    with pytest.raises(SchemaMismatch, match="being rebuilt"):
        reader.search(SearchQuery())  # not a partial index
    stale.commit(11)
    assert not stale.needs_rebuild()
    assert reader.count() == 2  # the same reader, without reopening
    assert reader.search(SearchQuery(facets=False)).total == 2
    assert reader.checkpoint() == 11


def test_a_rebuild_cut_short_is_started_again(open_index, tmp_path: Path, corpus_docs) -> None:
    writer = open_index()
    writer.upsert(corpus_docs[:3])
    writer.commit(3)
    writer.close()
    set_schema_version(tmp_path / "index", 0)
    stale = open_index()
    stale.clear()
    stale.upsert(corpus_docs[:1])
    stale.close()  # the process dies before the rebuild's commit
    reader = open_index(writer=False)
    with pytest.raises(SchemaMismatch, match="being rebuilt"):
        reader.search(SearchQuery())
    again = open_index()
    assert again.needs_rebuild()
    again.clear()
    again.upsert(corpus_docs[:4])
    again.commit(5)
    assert reader.count() == 4


def test_missing_meta_file_is_a_mismatch(open_index, tmp_path: Path) -> None:
    open_index().close()
    (tmp_path / "index" / META_FILE).unlink()
    with pytest.raises(SchemaMismatch):
        open_index(writer=False).search(SearchQuery())
    assert open_index().needs_rebuild()


@pytest.mark.parametrize("size", [1, 7, 40])
def test_a_listing_without_a_query_pages_in_id_order(open_index, size: int) -> None:
    """No query: every score is equal and the id orders, through an integer of its first
    bytes; ids that share those bytes (runs longer than what is read around a page, and
    past the point where a run is read from its far end) are ordered by the whole id."""
    from dataclasses import replace

    from catalogue.search.documents import to_document
    from catalogue.search.tantivy_pages import FAR_INTO_RUN, TIE_SLACK

    from .synthetic import synthetic_record

    shared = [f"samepre-{n:04d}" for n in range(TIE_SLACK + FAR_INTO_RUN + 60)]
    short = ["samepr", "samepre", "samepre-", "samepre-0", "samepra-9", "samepri"]
    ids = shared + short + [synthetic_record(i).id for i in range(50)]
    docs = [to_document(replace(synthetic_record(n), id=rid)) for n, rid in enumerate(ids)]
    writer = open_index()
    writer.upsert(docs[::2])
    writer.commit(1)
    writer.upsert(docs[1::2])  # two segments
    writer.commit(2)
    reader = open_index(writer=False)
    for q in ("", "*"):
        pages = [
            [h["id"] for h in reader.search(SearchQuery(q=q, page=p, size=size)).hits]
            for p in range(1, len(ids) // size + 2)
        ]
        assert [rid for page in pages for rid in page] == sorted(ids)
    seen, after = [], None
    while True:
        found = reader.search(SearchQuery(size=size, after=after, facets=False))
        seen += [h["id"] for h in found.hits]
        if found.cursor is None:
            break
        after = found.cursor
    assert seen == sorted(ids)


@pytest.mark.parametrize("size", [1, 9, 40])
@pytest.mark.parametrize("sort", ["title", "-title"])
def test_titles_alike_in_their_first_bytes_page_in_title_order(
    open_index, size: int, sort: str
) -> None:
    """Runs of titles equal in their first 7 bytes (one integer key), some in 14 (two) and
    some whole (then the id orders), each longer than what is read around a page."""
    from dataclasses import replace

    from catalogue.search.documents import to_document
    from catalogue.search.sort_keys import sort_keys
    from catalogue.search.tantivy_pages import FAR_INTO_RUN, TIE_SLACK

    from .synthetic import synthetic_record

    long_run = TIE_SLACK + FAR_INTO_RUN + 30
    titles = [f"Measurements {n % 7} of site {n:04d}" for n in range(long_run)]
    titles += ["Measurements 3 of site"] * 40 + ["Measure", "Measurement", "Measurements"]
    titles += [f"Measure{'zyx'[n % 3]}{n % 5} data {n}" for n in range(60)]  # byte 8 differs
    titles += [f"Dataset {n}" for n in range(30)] + ["Zeta"] * 5
    docs = []
    for n, title in enumerate(titles):
        record = synthetic_record(n)
        md = dict(record.metadata, titles=[{"title": title}])
        docs.append(to_document(replace(record, metadata=md)))
    writer = open_index()
    writer.upsert(docs[1::2])
    writer.commit(1)
    writer.upsert(docs[::2])
    writer.commit(2)
    reader = open_index(writer=False)
    expected = [
        d["id"]
        for d in sorted(docs, key=lambda d: sort_keys(d)["sort_title"], reverse=sort == "-title")
    ]
    seen = [
        h["id"]
        for p in range(1, len(docs) // size + 2)
        for h in reader.search(SearchQuery(sort=sort, page=p, size=size, facets=False)).hits
    ]
    assert seen == expected


def test_facet_counts_are_exact_over_several_segments(open_index) -> None:
    """tantivy counts facets per segment and merges each segment's top buckets: a value
    that is in no segment's top (2 records in 2 segments, among 250 values of 1 each) must
    still be counted and come first."""
    from catalogue.search.documents import to_document

    from .synthetic import synthetic_record

    index = open_index()
    for segment in range(2):
        records = []
        for i in range(251):
            record = synthetic_record(segment * 1000 + i)
            subject = "zz spread" if i == 250 else f"a{segment}-{i:03d}"
            record.metadata["subjects"] = [{"subject": subject}]
            records.append(to_document(record))
        index.upsert(records)
        index.commit(segment + 1)  # one segment per commit
    buckets = index.search(SearchQuery(size=0)).aggregations["subject"]
    assert buckets[0] == {"key": "zz spread", "count": 2}
