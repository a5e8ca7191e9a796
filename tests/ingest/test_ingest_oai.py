"""Deposited records reach the OAI-PMH provider (which reads the store); deleted ones
become deleted headers (deletedRecord=persistent)."""

from __future__ import annotations

from ingest_support import metadata
from lxml import etree

NS = {"o": "http://www.openarchives.org/OAI/2.0/"}


def oai(app, **params) -> etree._Element:
    r = app.get("/oai", params=params)
    assert r.status_code == 200
    return etree.fromstring(r.content)


def test_deposit_then_delete_is_an_oai_deleted_header(ingest_app) -> None:
    created = ingest_app.create(metadata("Harvest me"), sets=["proj"])
    rid = created.json()["id"]
    identifier = f"oai:{ingest_app.settings['oai']['repository_identifier']}:{rid}"

    page = oai(ingest_app, verb="ListRecords", metadataPrefix="oai_dc", set="source:local:proj")
    headers = page.findall(".//o:record/o:header", NS)
    assert [h.findtext("o:identifier", namespaces=NS) for h in headers] == [identifier]
    assert headers[0].get("status") is None

    deleted = ingest_app.call(
        "DELETE", f"/api/records/{rid}", headers={"If-Match": created.headers["ETag"]}
    )
    assert deleted.status_code == 204
    got = oai(ingest_app, verb="GetRecord", metadataPrefix="oai_dc", identifier=identifier)
    header = got.find(".//o:record/o:header", NS)
    assert header.get("status") == "deleted"
    assert got.find(".//o:record/o:metadata", NS) is None
    listed = oai(ingest_app, verb="ListIdentifiers", metadataPrefix="oai_dc", set="source:local")
    statuses = [h.get("status") for h in listed.findall(".//o:header", NS)]
    assert statuses == ["deleted"]
