"""The search API over HTTP: hits, totals, facets, filters, sorts, paging links, errors."""

from __future__ import annotations

from typing import Any

import pytest


def meta(
    title: str, *, year: int, rtype: str, subjects: tuple[str, ...] = (), **extra: Any
) -> dict:
    md = {
        "titles": [{"title": title}],
        "creators": [{"name": "Curie, Marie", "nameType": "Personal"}],
        "publisher": extra.pop("publisher", "Zenodo"),
        "publicationYear": year,
        "types": {"resourceTypeGeneral": rtype},
        "subjects": [{"subject": s} for s in subjects],
        "descriptions": [{"description": extra.pop("description", "plain text")}],
    }
    md.update(extra)
    return md


@pytest.fixture
def app(live_app):
    live_app.add(
        "zenodo",
        {
            "z1": meta(
                "Ocean temperature profiles",
                year=2020,
                rtype="Dataset",
                subjects=("oceanography", "climate"),
            ),
            "z2": meta("Glacier melt model", year=2021, rtype="Software", subjects=("climate",)),
            "z3": meta("Annual report", year=2019, rtype="Text", language="en"),
        },
    )
    live_app.add(
        "eur",
        {
            "e1": meta(
                "Ocean acidification survey",
                year=2021,
                rtype="Dataset",
                subjects=("oceanography",),
                publisher="Erasmus",
            )
        },
    )
    return live_app


def buckets(body: dict, facet: str) -> dict[str, int]:
    return {b["key"]: b["count"] for b in body["aggregations"][facet]}


def test_search_returns_hits_total_facets_and_links(app) -> None:
    r = app.get("/api/records", q="ocean")
    assert r.status_code == 200
    body = r.json()
    assert body["total"] == 2
    assert {h["metadata"]["titles"][0]["title"] for h in body["hits"]} == {
        "Ocean temperature profiles",
        "Ocean acidification survey",
    }
    assert buckets(body, "type") == {"Dataset": 2}
    assert buckets(body, "source") == {"zenodo": 1, "eur": 1}
    assert buckets(body, "subject")["oceanography"] == 2
    assert body["links"]["self"].startswith(app.url + "/api/records?")
    hit = body["hits"][0]
    assert hit["links"]["self"] == f"{app.url}/api/records/{hit['id']}"


def test_empty_query_lists_everything_and_facets_count_multi_valued_subjects(app) -> None:
    body = app.get("/api/records").json()
    assert body["total"] == 4
    assert buckets(body, "subject") == {"climate": 2, "oceanography": 2}
    assert buckets(body, "year") == {"2021": 2, "2020": 1, "2019": 1}


def test_filters_and_within_or_across(app) -> None:
    both = app.get("/api/records", type=["Dataset", "Software"]).json()
    assert both["total"] == 3
    narrowed = app.get("/api/records", type=["Dataset", "Software"], subject="climate").json()
    assert narrowed["total"] == 2
    assert app.get("/api/records", year="2021", source="eur").json()["total"] == 1


def test_sort_by_title_and_paging_links(app) -> None:
    page1 = app.get("/api/records", sort="title", size=2).json()
    titles = [h["metadata"]["titles"][0]["title"] for h in page1["hits"]]
    assert titles == ["Annual report", "Glacier melt model"]
    assert "prev" not in page1["links"]
    page2 = app.get(page1["links"]["next"].replace(app.url, "")).json()
    assert [h["metadata"]["titles"][0]["title"] for h in page2["hits"]] == [
        "Ocean acidification survey",
        "Ocean temperature profiles",
    ]
    assert "next" not in page2["links"] and "prev" in page2["links"]


def test_size_zero_gives_total_and_facets_only(app) -> None:
    body = app.get("/api/records", size=0).json()
    assert body["hits"] == [] and body["total"] == 4
    assert sum(b["count"] for b in body["aggregations"]["type"]) == 4


def test_get_record_and_tombstone(app) -> None:
    hit = app.get("/api/records", q="glacier").json()["hits"][0]
    record = app.get(f"/api/records/{hit['id']}").json()
    assert record["source"] == "zenodo" and record["source_id"] == "z2"
    app.store.mark_deleted("zenodo", ["z2"])
    app.indexer.catch_up()
    gone = app.get(f"/api/records/{hit['id']}")
    assert gone.status_code == 410 and gone.json()["status"] == 410
    assert app.get("/api/records", q="glacier").json()["total"] == 0
    assert app.get("/api/records/doesnotexist").status_code == 404


@pytest.mark.parametrize(
    "params, field",
    [
        ({"page": "0"}, "page"),
        ({"page": "x"}, "page"),
        ({"size": "100000"}, "size"),
        ({"size": "-1"}, "size"),
        ({"sort": "random"}, "sort"),
        ({"page": "1000", "size": "200"}, "page"),
        ({"bogus": "1"}, "bogus"),
        ({"q": "x" * 5000}, "q"),
        ({"q": ["a", "b"]}, "q"),
        ({"year": "twenty"}, "year"),
        ({"year": "99999999999999999999"}, "year"),
        ({"year": "\u0661\u0662"}, "year"),
        ({"year": "\u00b2"}, "year"),
    ],
)
def test_bad_parameters_are_400_with_the_field(app, params, field) -> None:
    r = app.get("/api/records", **params)
    assert r.status_code == 400
    body = r.json()
    assert body["status"] == 400
    assert field in {e["field"] for e in body["errors"]}


@pytest.mark.parametrize(
    "q", ["(((", 'title:"unclosed', "AND OR", "nosuchfield:x", "title:", "\x00\ud7ff"]
)
def test_hostile_queries_never_500(app, q) -> None:
    r = app.get("/api/records", q=q)
    assert r.status_code in (200, 400)
    if r.status_code == 400:
        assert r.json()["errors"][0]["field"] == "q"


def test_unknown_api_path_is_json_404(app) -> None:
    r = app.get("/api/nothing-here")
    assert r.status_code == 404 and r.json()["status"] == 404


def test_sources_api_lists_counts(app) -> None:
    app.store.add_source("zenodo", "oai", "https://zenodo.org/oai2d")
    body = app.get("/api/sources").json()
    assert body["sources"][0]["key"] == "zenodo"
    assert body["sources"][0]["records"] == 3
    assert app.get("/api/sources/nope/runs").status_code == 404
