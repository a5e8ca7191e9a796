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
    identifier = f"oai:{ingest_app.settings.oai.repository_identifier}:{rid}"

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


def test_every_deposit_form_is_in_source_local(ingest_app) -> None:
    """JSON, XML and multipart deposits, and replaces by XML, all land in source:local."""
    from test_ingest_documents import KERNEL4, XML, oai_dc_document

    as_json = ingest_app.create(metadata("json"), id="dep-json")
    as_xml = ingest_app.call("POST", "/api/records", data=KERNEL4.read_bytes(), headers=XML)
    files = {
        "record": ("r.json", '{"id": "dep-multipart"}', "application/json"),
        "document": ("d.xml", oai_dc_document(), "application/xml"),
    }
    as_multipart = ingest_app.call("POST", "/api/records", files=files)
    for r in (as_json, as_xml, as_multipart):
        assert r.status_code == 201, r.text
        assert r.json()["sets"] == ["source:local"]
    # a document of its own (the other two hold their documents' DOIs)
    document = KERNEL4.read_bytes().replace(b"10.82433/B09Z-4K37", b"10.5072/dep-json")
    replaced = ingest_app.call(
        "PUT",
        "/api/records/dep-json",
        data=document,
        headers={**XML, "If-Match": as_json.headers["ETag"]},
    )
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["sets"] == ["source:local"]
    ids = {r.json()["id"] for r in (as_json, as_xml, as_multipart)}
    listed = oai(ingest_app, verb="ListIdentifiers", metadataPrefix="oai_dc", set="source:local")
    prefix = f"oai:{ingest_app.settings.oai.repository_identifier}:"
    found = {h.findtext("o:identifier", namespaces=NS) for h in listed.findall(".//o:header", NS)}
    assert found == {prefix + rid for rid in ids}
    sets = {spec.text for spec in listed.iterfind(".//o:header/o:setSpec", NS)}
    assert "source:local" in sets
