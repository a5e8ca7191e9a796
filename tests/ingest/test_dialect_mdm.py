"""MDM clients: POST /api/mdm/records/{repositoryName} with MDM's add-record model."""

from __future__ import annotations

from pathlib import Path

import pytest
from ingest_support import IngestApp
from live_server import serve_in_thread

from catalogue.config import load_settings
from catalogue.search.indexer import Indexer, open_index
from catalogue.web.app import create_app

URL = "/api/mdm/records/datasets"


def attribute(name: str, value=None, **extra) -> dict:
    return {
        "name": name,
        "value": value,
        "displayName": name.title(),
        "type": 0,
        "id": 0,
        "multivalue": False,
        **extra,
    }


def add_request(*attributes: dict, validate: bool = False, product_id: str = "P-1") -> dict:
    return {
        "process": False,
        "validate": validate,
        "perspectiveName": "default",
        "record": {
            "productId": product_id,
            "productIdExt": "ext-1",
            "version": "1",
            "state": "ACTIVE",
            "key": 0,
            "attributes": list(attributes),
            "repositoryName": "datasets",
            "relationship": {},
            "deleted": False,
        },
    }


FULL = (
    attribute("title", "Soil moisture 2023"),
    attribute("creator", multivalues=[{"value": "Curie, Marie"}, {"value": "Bohr, Niels"}]),
    attribute("description", "Daily soil moisture at 12 stations."),
    attribute("subject", "soil"),
    attribute("date", "2023-05-01"),
    attribute("identifier", "10.5072/mdm-1"),
    attribute("publisher", "Example Institute"),
    attribute("type", "Dataset"),
)


def test_add_record_with_the_default_attribute_map(ingest_app) -> None:
    r = ingest_app.post(add_request(*FULL, attribute("colour", "blue")), path=URL)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["success"] is True
    (rec,) = body["records"]
    assert rec["productId"] == "P-1" and rec["productKeyId"] == "P-1"
    assert rec["repositoryName"] == "datasets"
    by_name = {a["attributeName"]: a for a in rec["responseAttributes"]}
    assert (
        by_name["title"]["values"] == ["Soil moisture 2023"]
        and by_name["title"]["errorCode"] is None
    )
    assert by_name["creator"]["values"] == ["Curie, Marie", "Bohr, Niels"]
    assert (
        by_name["colour"]["errorCode"] == "UNMAPPED" and by_name["colour"]["errorType"] == "WARNING"
    )
    assert body["responseMessages"][0]["code"] == "CREATED"

    stored = ingest_app.get("/api/records/P-1").json()
    md = stored["metadata"]
    assert md["titles"] == [{"title": "Soil moisture 2023"}]
    assert [c["name"] for c in md["creators"]] == ["Curie, Marie", "Bohr, Niels"]
    assert md["publisher"] == "Example Institute" and md["publicationYear"] == 2023
    assert md["types"]["resourceTypeGeneral"] == "Dataset"
    assert {"identifier": "10.5072/mdm-1", "identifierType": "DOI"} in md["identifiers"]
    assert md["subjects"] == [{"subject": "soil"}]
    assert stored["sets"] == ["source:local", "source:local:mdm", "source:local:mdm:datasets"]
    assert stored["missing_mandatory"] == []

    again = ingest_app.post(add_request(*FULL), path=URL)
    assert again.status_code == 409 and again.json()["success"] is False


def test_validate_true_stores_nothing(ingest_app) -> None:
    r = ingest_app.post(add_request(*FULL, validate=True), path=URL)
    assert r.status_code == 200, r.text
    assert r.json()["success"] is True and r.json()["records"][0]["productKeyId"] is None
    assert r.json()["responseMessages"][0]["code"] == "VALID"
    assert ingest_app.local_count() == 0 and ingest_app.store.last_seq() == 0


def test_per_attribute_errors_and_bad_requests(ingest_app) -> None:
    r = ingest_app.post(add_request(attribute("title", "t"), {"value": "nameless"}), path=URL)
    assert r.status_code == 400
    body = r.json()
    assert body["success"] is False
    errors = [a for a in body["records"][0]["responseAttributes"] if a["errorType"] == "ERROR"]
    assert errors[0]["errorCode"] == "MISSING_NAME"
    assert body["errors"] == [
        {"field": "/record/attributes/1/name", "message": "an attribute needs a name"}
    ]
    r = ingest_app.post(
        add_request(attribute("title", "t"), attribute("date", "yesterday")), path=URL
    )
    assert r.status_code == 400
    (date,) = [
        a for a in r.json()["records"][0]["responseAttributes"] if a["attributeName"] == "date"
    ]
    assert date["errorCode"] == "INVALID_VALUE" and date["errorType"] == "ERROR"
    assert r.json()["errors"][0]["field"] == "/record/attributes/1/value"
    for bad in (
        {},
        {"record": {}},
        {"record": {"attributes": "x"}},
        [],
        {"record": {"attributes": [], "key": "k"}},
    ):
        r = ingest_app.post(bad, path=URL)
        assert r.status_code == 400, bad
        assert r.json()["success"] is False
    assert ingest_app.post(add_request(*FULL), path=URL, token=None).status_code == 401
    r = ingest_app.call("POST", URL, data=b"{}", headers={"Content-Type": "text/plain"})
    assert r.status_code == 415
    assert ingest_app.local_count() == 0


def test_a_product_id_that_is_no_record_id_gets_one(ingest_app) -> None:
    r = ingest_app.post(add_request(*FULL, product_id="has spaces/and slashes"), path=URL)
    assert r.status_code == 200, r.text
    rid = r.json()["records"][0]["productKeyId"]
    assert rid != "has spaces/and slashes"
    assert any(m["code"] == "PRODUCT_ID" for m in r.json()["responseMessages"])
    assert ingest_app.get(f"/api/records/{rid}").status_code == 200


@pytest.fixture
def mapped_app(store, tmp_path: Path):
    """An app whose settings replace the attribute map."""
    settings = load_settings(
        {
            "data_dir": str(tmp_path),
            "index_dir": str(tmp_path / "index"),
            "search_url": "",
            "mdm": {
                "attributes": {"Name": "titles", "Owner": "creators", "Kind": "resourceTypeGeneral"}
            },
        }
    )
    writer = open_index(settings, writer=True)
    app = create_app(settings, store=store)
    tokens = {
        role: store.create_token(f"{role}-1", role)[1] for role in ("depositor", "admin", "reader")
    }
    try:
        for url in serve_in_thread(app):
            yield IngestApp(url, store, Indexer(store, writer), settings, **tokens)
    finally:
        writer.close()


def test_the_attribute_map_is_configurable(mapped_app) -> None:
    r = mapped_app.post(
        add_request(
            attribute("NAME", "Configured title"),
            attribute("owner", "Doe, Jane"),
            attribute("kind", "Software"),
            attribute("title", "not mapped now"),
        ),
        path=URL,
    )
    assert r.status_code == 200, r.text
    md = mapped_app.get("/api/records/P-1").json()["metadata"]
    assert md["titles"] == [{"title": "Configured title"}]
    assert md["creators"][0]["name"] == "Doe, Jane"
    assert md["types"]["resourceTypeGeneral"] == "Software"
    codes = {
        a["attributeName"]: a["errorCode"] for a in r.json()["records"][0]["responseAttributes"]
    }
    assert codes["title"] == "UNMAPPED" and codes["NAME"] is None


@pytest.mark.parametrize("name", ["dc.title", "Title [en]", "type=main"])
def test_attribute_names_with_path_syntax_map(name: str) -> None:
    from mappings.mdm import from_mdm_record

    record = {"attributes": [{"name": name, "value": "Dotted"}, {"name": "Date", "value": "2020"}]}
    metadata, _ = from_mdm_record(record, {name: "titles", "Date": "dates.Issued"})
    assert metadata["titles"] == [{"title": "Dotted"}]
    assert metadata["publicationYear"] == 2020
