"""Search as researchers type it, over HTTP (issue 14), and the OpenAPI document's claims."""

from __future__ import annotations

import pytest
from test_search_api import buckets, meta


@pytest.fixture
def app(live_app):
    live_app.add(
        "zenodo",
        {
            "oai:zenodo.org:8406062": meta(
                "Climate change in the Alps",
                year=2023,
                rtype="Dataset",
                identifiers=[{"identifier": "10.5281/zenodo.8406062", "identifierType": "DOI"}],
                rightsList=[{"rights": "Creative Commons Attribution 4.0 International"}],
            ),
            "z2": meta(
                "Climate of Mars",
                year=2021,
                rtype="Software",
                rightsList=[{"rightsUri": "https://creativecommons.org/licenses/by/4.0/"}],
            ),
            "z3": meta(
                "Land use change",
                year=2021,
                rtype="Dataset",
                language="en",
                rightsList=[{"rights": "CC-BY-4.0"}],
            ),
        },
    )
    return live_app


def ids_of(r) -> list[str]:
    assert r.status_code == 200, r.text
    return [h["source_id"] for h in r.json()["hits"]]


def test_pasted_doi_url_finds_its_record(app) -> None:
    for q in ("https://doi.org/10.5281/zenodo.8406062", "doi:10.5281/ZENODO.8406062"):
        assert ids_of(app.get("/api/records", q=q)) == ["oai:zenodo.org:8406062"]


def test_bare_words_are_ranked_not_all_required(app) -> None:
    found = ids_of(app.get("/api/records", q="climate change"))
    assert found[0] == "oai:zenodo.org:8406062" and len(found) == 3
    assert ids_of(app.get("/api/records", q="+climate +change")) == ["oai:zenodo.org:8406062"]
    assert ids_of(app.get("/api/records", q="climate -change")) == ["z2"]


def test_facet_values_are_case_insensitive(app) -> None:
    assert app.get("/api/records", type="dataset").json()["total"] == 2
    assert app.get("/api/records", type="DATASET").json()["total"] == 2
    body = app.get("/api/records", type="dataset", size=0).json()
    assert buckets(body, "type") == {"Dataset": 2, "Software": 1}


def test_rights_facet_is_one_spdx_id(app) -> None:
    body = app.get("/api/records", size=0).json()
    assert buckets(body, "rights") == {"CC-BY-4.0": 3}
    hit = app.get("/api/records", q="mars").json()["hits"][0]
    # the original text/URI is kept beside the id
    assert hit["metadata"]["rightsList"][0]["rightsUri"] == (
        "https://creativecommons.org/licenses/by/4.0/"
    )


def test_bad_syntax_is_a_400_naming_q(app) -> None:
    r = app.get("/api/records", q='"unclosed')
    assert r.status_code == 400
    assert r.json()["errors"] == [{"field": "q", "message": "a quotation mark is not closed"}]


def test_openapi_says_or_within_a_facet_and_across_with_and(app) -> None:
    doc = app.get("/api/openapi.json").json()
    params = {p["name"]: p for p in doc["paths"]["/api/records"]["get"]["parameters"]}
    for facet in ("type", "year", "rights"):
        text = params[facet]["description"]
        assert "OR" in text and "AND" in text and "case-insensitive" in text
        assert "(repeatable: AND)" not in text
    # ... and the API does what the document says
    one = app.get("/api/records", year="2023").json()["total"]
    other = app.get("/api/records", year="2021").json()["total"]
    both = app.get("/api/records", params=None, year=["2023", "2021"]).json()["total"]
    assert (one, other, both) == (1, 2, 3)
    across = app.get("/api/records", year=["2023", "2021"], type="Software").json()["total"]
    assert across == 1
    assert "phrase" in params["q"]["description"]
