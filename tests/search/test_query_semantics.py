"""The query language researchers type (issue 14): parsed once, run by the embedded backend.

Each contract here is what every backend must do with the same query (see query.py).
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

import pytest

from catalogue.model import Record
from catalogue.search.base import QuerySyntaxError, SearchQuery
from catalogue.search.documents import to_document
from catalogue.search.query import (
    Exact,
    Identifier,
    Words,
    identifier_key,
    minimum_should_match,
    parse_query,
)

from .cluster_support import drop_alias, open_cluster, unique_alias
from .test_backends import BACKENDS


def record(rid: str, title: str, **md: Any) -> Record:
    metadata = {
        "titles": [{"title": title}],
        "creators": [{"name": "Curie, Marie"}],
        "publisher": md.pop("publisher", "Zenodo"),
        "publicationYear": md.pop("year", 2020),
        "types": {"resourceTypeGeneral": md.pop("rtype", "Dataset")},
        **md,
    }
    return Record(
        id=rid,
        source="zenodo",
        source_id=f"oai:zenodo.org:{rid}",
        metadata=metadata,
        datestamp=datetime(2024, 1, 1),
    )


RECORDS = [
    record("both", "Climate change in the Alps"),
    record("climate", "Climate of Mars", rtype="Software"),
    record("change", "Land use change"),
    record("neither", "Ocean temperature profiles"),
    record(
        "doi",
        "Culinary work",
        identifiers=[{"identifier": "10.5281/zenodo.8406062", "identifierType": "DOI"}],
        rightsList=[{"rights": "Creative Commons Attribution 4.0 International"}],
    ),
    record(
        "handle",
        "Sensor network",
        identifiers=[{"identifier": "21.T11148/abc-def", "identifierType": "Handle"}],
        rightsList=[{"rightsUri": "https://creativecommons.org/licenses/by/4.0/legalcode"}],
    ),
    record(
        "url",
        "Web page record",
        identifiers=[{"identifier": "https://example.org/data/42/", "identifierType": "URL"}],
        rightsList=[{"rightsIdentifier": "cc-by-4.0", "rightsIdentifierScheme": "SPDX"}],
        rtype="dataset",
    ),
]


@pytest.fixture(params=BACKENDS)
def index(request: pytest.FixtureRequest, open_index, tmp_path):
    """The records in each backend: embedded, OpenSearch and Elasticsearch (issue 15)."""
    if request.param == "embedded":
        index = open_index()
    else:
        url = os.environ.get("CATALOGUE_TEST_SEARCH_URL")
        url = url or f"{request.param}+{request.getfixturevalue('osmem_url')}"
        index = open_cluster(url, unique_alias(), f"sqlite:///{tmp_path / 'state.sqlite3'}")
        request.addfinalizer(lambda: (drop_alias(index), index.close()))
    index.upsert([to_document(r) for r in RECORDS])
    index.commit(1)
    return index


def ids(index, q: str = "", **kw: Any) -> list[str]:
    return [h["id"] for h in index.search(SearchQuery(q=q, size=50, **kw)).hits]


def test_bare_words_rank_more_matches_first_instead_of_dropping(index) -> None:
    found = ids(index, "climate change")
    assert found[0] == "both"
    assert set(found) == {"both", "climate", "change"}


def test_plus_minus_and_phrases_stay_strict(index) -> None:
    assert ids(index, "+climate +change") == ["both"]
    assert set(ids(index, "climate -change")) == {"climate"}
    assert ids(index, '"climate change"') == ["both"]
    assert ids(index, '"change climate"') == []
    assert set(ids(index, "-climate")) == {r.id for r in RECORDS} - {"both", "climate"}


def test_three_words_need_two(index) -> None:
    assert minimum_should_match(3) == 2
    assert ids(index, "climate change alps") == ["both"]
    assert set(ids(index, "climate change mars")) == {"both", "climate"}


@pytest.mark.parametrize(
    "q,rid",
    [
        ("https://doi.org/10.5281/zenodo.8406062", "doi"),
        ("http://dx.doi.org/10.5281/ZENODO.8406062", "doi"),
        ("doi:10.5281/zenodo.8406062", "doi"),
        ("10.5281/zenodo.8406062", "doi"),
        ("https://doi.org/10.5281%2Fzenodo.8406062", "doi"),
        ("  https://doi.org/10.5281/zenodo.8406062.  ", "doi"),
        ("https://hdl.handle.net/21.T11148/abc-def", "handle"),
        ("hdl:21.T11148/abc-def", "handle"),
        ("https://example.org/data/42", "url"),
        ("http://www.example.org/data/42/", "url"),
        ("oai:zenodo.org:url", "url"),
    ],
)
def test_a_pasted_identifier_finds_its_record(index, q: str, rid: str) -> None:
    assert ids(index, q)[:1] == [rid]
    assert index.search(SearchQuery(q=q)).total == 1


def test_identifier_inside_an_advanced_query(index) -> None:
    assert ids(index, "https://doi.org/10.5281/zenodo.8406062 OR mars") != []
    assert set(ids(index, "https://doi.org/10.5281/zenodo.8406062 OR mars")) == {
        "doi",
        "climate",
    }


def test_facet_values_match_case_insensitively(index) -> None:
    both = {"both", "change", "neither", "doi", "handle", "url"}
    assert set(ids(index, filters={"type": ("dataset",)})) == both
    assert set(ids(index, filters={"type": ("DATASET",)})) == both
    assert set(ids(index, "type:dataset")) == both
    assert set(ids(index, filters={"publisher": ("zenodo",)})) == {r.id for r in RECORDS}
    result = index.search(SearchQuery(filters={"type": ("dataset",)}, size=0))
    keys = [b["key"].lower() for b in result.aggregations["type"]]
    assert len(keys) == len(set(keys)) or "dataset" in keys


@pytest.mark.parametrize(
    "q,expected",
    [
        # NOT after AND excludes (tantivy's own parser searched the word "not": nothing)
        ("climate AND NOT change", {"climate"}),
        ("NOT change AND climate", {"climate"}),
        ("(climate OR change) AND NOT alps", {"climate", "change"}),
        # facet fields in boolean syntax compare case-insensitively, as the filters do
        ("type:dataset OR type:software", {r.id for r in RECORDS}),
        ("type:SOFTWARE AND climate", {"climate"}),
        ("rights:cc-by-4.0 AND NOT type:software", {"doi", "handle", "url"}),
        # a phrase's slop lets its words stand apart
        ('"climate alps"~3', {"both"}),
        ('"climate alps"', set()),
        ('title:"ocean profiles"~1', {"neither"}),
        # an open range on both ends: every record with a year
        ("year:[* TO *]", {r.id for r in RECORDS}),
        ("year:[2020 TO 2020] AND mars", {"climate"}),
        # a comparison alone, as beside an AND (it was a 400 alone)
        ("year:>=2020", {r.id for r in RECORDS}),
        ("year:<2020", set()),
        # any value in a field (tantivy's exists query reads fast fields only: 400 before)
        ("title:* AND climate", {"both", "climate"}),
        ("subject:* OR mars", {"climate"}),
    ],
)
def test_boolean_queries_mean_the_same_in_every_backend(index, q: str, expected) -> None:
    assert set(ids(index, q)) == expected
    assert index.search(SearchQuery(q=q, size=0)).total == len(expected)


def test_licences_facet_on_one_spdx_id(index) -> None:
    result = index.search(SearchQuery(size=0))
    assert {b["key"]: b["count"] for b in result.aggregations["rights"]} == {"CC-BY-4.0": 3}
    assert set(ids(index, filters={"rights": ("cc-by-4.0",)})) == {"doi", "handle", "url"}


@pytest.mark.parametrize(
    "q,message",
    [
        ('"unclosed', "quotation mark"),
        ("nosuchfield:x", "no field"),
        ("title:", "needs a value"),
        ("year:abc", "year"),
        ("a\x00b", "NUL"),
        ("x" * 1001, "longer"),
        ("w " * 65, "more than"),
    ],
)
def test_bad_syntax_is_explained(q: str, message: str) -> None:
    with pytest.raises(QuerySyntaxError, match=message):
        parse_query(q)


def test_parse_shapes() -> None:
    parsed = parse_query('climate +alps -mars "land use" type:Dataset title:"of mars" 10.1234/x')
    assert parsed.should == (Words("climate"),)
    assert parsed.must == (
        Words("alps"),
        Words("land use", phrase=True),
        Exact("type", "Dataset"),
        Words("of mars", field="title", phrase=True),
        Identifier("10.1234/x", "10.1234/x"),
    )
    assert parsed.must_not == (Words("mars"),)
    assert parse_query("a OR b").advanced == "a OR b"
    assert parse_query("year:[2000 TO 2004]").advanced == "year:[2000 TO 2004]"
    assert parse_query("").match_all and parse_query(" * ").match_all
    assert [minimum_should_match(n) for n in range(1, 9)] == [1, 1, 2, 3, 3, 4, 5, 6]


def test_identifier_keys() -> None:
    assert identifier_key("https://doi.org/10.5281/Zenodo.1") == "10.5281/zenodo.1"
    assert identifier_key("https://hdl.handle.net/11304/ABC") == "11304/abc"
    assert identifier_key("HTTPS://www.Example.org/a/") == "example.org/a"
    assert identifier_key("urn:nbn:de:1") == "urn:nbn:de:1"
    assert identifier_key("  ") is None
