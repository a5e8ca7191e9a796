"""Metadata documents: XML deposits (DataCite kernel 3/4, oai_dc) and metastore2 multipart."""

from __future__ import annotations

import json

import pytest
from ingest_support import metadata
from lxml import etree

from catalogue.demo import DEMO_DATA

DATA = DEMO_DATA
KERNEL4 = DATA / "datacite/xml-kernel-4/datacite-example-full-v4.xml"
KERNEL3 = DATA / "datacite/xml-kernel-3/datacite-example-full-v3.1.xml"
QUIRKS = DATA / "datacite/xml-quirks-bolognese"
XML = {"Content-Type": "application/xml"}


def oai_dc_document() -> bytes:
    page = etree.parse(str(DATA / "zenodo/GetRecord_oai_dc.xml"))
    dc = page.find(".//{http://www.openarchives.org/OAI/2.0/oai_dc/}dc")
    return etree.tostring(dc, xml_declaration=True, encoding="UTF-8")


@pytest.mark.parametrize("path", [KERNEL4, KERNEL3], ids=["kernel-4", "kernel-3"])
def test_datacite_xml_deposit_is_validated_mapped_and_kept(ingest_app, path) -> None:
    document = path.read_bytes()
    r = ingest_app.call("POST", "/api/records", data=document, headers=XML)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["original"] == {"format": "datacite"}
    assert body["metadata"]["titles"]
    assert body["metadata"]["identifiers"][0]["identifierType"] == "DOI"
    assert isinstance(body["warnings"], list)
    original = ingest_app.get(f"/api/records/{body['id']}/document")
    assert original.status_code == 200 and original.content == document
    # a charset parameter would override the document's own declaration (RFC 7303)
    assert original.headers["Content-Type"] == "application/xml"
    assert body["links"]["document"].endswith(f"/api/records/{body['id']}/document")
    assert ingest_app.store.get_raw(body["id"]) == ("datacite", document)
    # the same DOI again is a duplicate
    again = ingest_app.call("POST", "/api/records", data=document, headers=XML)
    assert again.status_code == 409


def test_oai_dc_deposit(ingest_app) -> None:
    r = ingest_app.call(
        "POST", "/api/records", data=oai_dc_document(), headers={"Content-Type": "text/xml"}
    )
    assert r.status_code == 201, r.text
    assert r.json()["original"] == {"format": "oai_dc"}


@pytest.mark.parametrize(
    ("name", "needle"),
    [
        ("datacite_missing_creator.xml", "creator"),
        ("datacite_blank_publisher.xml", "publisher"),
    ],
)
def test_xml_invalid_against_its_xsd_400(ingest_app, name, needle) -> None:
    r = ingest_app.call("POST", "/api/records", data=(QUIRKS / name).read_bytes(), headers=XML)
    assert r.status_code == 400
    errors = r.json()["errors"]
    assert errors and all(e["field"] == "" for e in errors)
    assert needle in errors[0]["message"] and "line" in errors[0]["message"]
    assert ingest_app.local_count() == 0


@pytest.mark.parametrize(
    "document",
    [b"<nope/>", b"not xml at all", b"", b'<r xmlns="urn:x"><a/></r>', b"<a><b></a>"],
)
def test_xml_that_is_not_a_known_document_400(ingest_app, document) -> None:
    r = ingest_app.call("POST", "/api/records", data=document, headers=XML)
    assert r.status_code == 400
    assert r.json()["errors"][0]["message"]


def test_an_older_datacite_kernel_is_refused_by_name(ingest_app) -> None:
    document = b'<resource xmlns="http://datacite.org/schema/kernel-2.2"><titles/></resource>'
    r = ingest_app.call("POST", "/api/records", data=document, headers=XML)
    assert r.status_code == 400
    assert "DataCite kernel-2.2 is not accepted" in r.json()["errors"][0]["message"]
    assert ingest_app.local_count() == 0


def test_put_with_xml_then_json_replaces_and_drops_the_document(ingest_app) -> None:
    created = ingest_app.create(metadata("json first"))
    rid = created.json()["id"]
    r = ingest_app.call(
        "PUT",
        f"/api/records/{rid}",
        data=KERNEL4.read_bytes(),
        headers={**XML, "If-Match": created.headers["ETag"]},
    )
    assert r.status_code == 200, r.text
    assert r.json()["original"] == {"format": "datacite"}
    assert ingest_app.get(f"/api/records/{rid}/document").status_code == 200
    r = ingest_app.call(
        "PUT",
        f"/api/records/{rid}",
        json={"metadata": metadata("json again")},
        headers={"If-Match": r.headers["ETag"]},
    )
    assert r.status_code == 200
    assert r.json()["original"] == {"format": None}
    assert ingest_app.get(f"/api/records/{rid}/document").status_code == 404
    assert ingest_app.store.get_raw(rid) is None


def test_multipart_record_and_document(ingest_app) -> None:
    record = {"id": "mp-1", "sets": ["multi"]}
    files = {
        "record": ("record.json", json.dumps(record), "application/json"),
        "document": ("doc.xml", KERNEL4.read_bytes(), "application/xml"),
    }
    r = ingest_app.call("POST", "/api/records", files=files)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["id"] == "mp-1"
    assert body["sets"] == ["source:local", "source:local:multi"]
    assert body["original"]["format"] == "datacite"


def test_multipart_json_document_and_form_fields(ingest_app) -> None:
    r = ingest_app.call(
        "POST",
        "/api/records",
        data={"record": json.dumps({"id": "mp-2"})},
        files={"document": ("md.json", json.dumps(metadata("from json")), "application/json")},
    )
    assert r.status_code == 201, r.text
    assert r.json()["metadata"]["titles"] == [{"title": "from json"}]
    assert r.json()["original"] == {"format": None}


def test_multipart_errors(ingest_app) -> None:
    only_record = {"record": ("r.json", "{}", "application/json")}
    r = ingest_app.call("POST", "/api/records", files=only_record)
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "/document"
    both = {
        "record": ("r.json", json.dumps({"metadata": metadata()}), "application/json"),
        "document": ("d.xml", KERNEL4.read_bytes(), "application/xml"),
    }
    r = ingest_app.call("POST", "/api/records", files=both)
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "/record/metadata"
    broken = {
        "record": ("r.json", "{nope", "application/json"),
        "document": ("d.xml", KERNEL4.read_bytes(), "application/xml"),
    }
    r = ingest_app.call("POST", "/api/records", files=broken)
    assert r.status_code == 400 and r.json()["errors"][0]["field"].startswith("/record")
    extra = {"other": ("o", "x", "text/plain"), "document": ("d.xml", b"<a/>", "application/xml")}
    r = ingest_app.call("POST", "/api/records", files=extra)
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "/other"
    bad_doc = {"document": ("d.xml", b"<a/>", "application/xml")}
    r = ingest_app.call("POST", "/api/records", files=bad_doc)
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "/document"
    assert ingest_app.local_count() == 0


@pytest.mark.parametrize(
    "disposition",
    ['form-data; name="\\"', "form-data", 'form-data; name=""'],
    ids=["unparsable-name", "no-name", "empty-name"],
)
def test_multipart_part_without_a_name_400(ingest_app, disposition) -> None:
    """A part werkzeug cannot name (its key is None) is a field error, not a 500."""
    body = (
        b'--BB\r\nContent-Disposition: form-data; name="document"\r\n'
        b"Content-Type: application/xml\r\n\r\n<x/>\r\n"
        b"--BB\r\nContent-Disposition: " + disposition.encode() + b"\r\n\r\n{}\r\n"
        b'--BB\r\nContent-Disposition: form-data; name="extra"\r\n\r\n{}\r\n--BB--\r\n'
    )
    headers = {"Content-Type": "multipart/form-data; boundary=BB"}
    r = ingest_app.call("POST", "/api/records", data=body, headers=headers)
    assert r.status_code == 400, r.text
    errors = r.json()["errors"]
    assert errors[0]["field"] == "" and "no usable name" in errors[0]["message"]
    assert {"field": "/extra", "message": "unknown part; send 'record' and 'document'"} in errors
    r = ingest_app.call("PUT", "/api/records/mp-x", data=body, headers={**headers, "If-Match": "*"})
    assert r.status_code == 400, r.text
    assert ingest_app.local_count() == 0


def test_document_of_harvested_records_has_its_own_media_type(ingest_app) -> None:
    """Harvested payloads are served as what they are: JSON from REST APIs is not XML."""
    from catalogue.model import record_id
    from catalogue.store import IncomingRecord

    json_payload = b'{"metadata": {"title": "from a REST API"}}'
    xml_payload = oai_dc_document()
    items = [
        IncomingRecord("j1", metadata("json"), raw=json_payload, raw_format="b2share-json"),
        IncomingRecord("x1", metadata("xml"), raw=xml_payload, raw_format="oai_dc"),
        IncomingRecord("b1", metadata("bytes"), raw=b"\x00\x01", raw_format="other"),
    ]
    ingest_app.store.upsert_page("rest", items)
    expected = {
        "j1": ("application/json", json_payload, "json"),
        "x1": ("application/xml", xml_payload, "xml"),
        "b1": ("application/octet-stream", b"\x00\x01", "bin"),
    }
    for source_id, (media_type, content, extension) in expected.items():
        rid = record_id("rest", source_id)
        record = ingest_app.get(f"/api/records/{rid}").json()
        r = ingest_app.get(f"/api/records/{rid}/document")
        assert r.status_code == 200
        assert r.headers["Content-Type"].split(";")[0] == media_type
        assert r.content == content
        assert r.headers["Content-Disposition"] == f'inline; filename="{rid}.{extension}"'
        assert record["links"]["document"] == r.url


def test_document_of_json_record_404_and_of_deleted_410(ingest_app) -> None:
    created = ingest_app.create(metadata())
    rid = created.json()["id"]
    assert ingest_app.get(f"/api/records/{rid}/document").status_code == 404
    assert ingest_app.get("/api/records/none/document").status_code == 404
    ingest_app.call("DELETE", f"/api/records/{rid}", headers={"If-Match": created.headers["ETag"]})
    assert ingest_app.get(f"/api/records/{rid}/document").status_code == 410


def test_an_xsd_valid_document_with_values_past_the_schema_limits_is_kept_cut(ingest_app):
    licence = "This work is licensed under the Creative Commons Attribution 4.0 licence. " * 40
    document = (
        '<resource xmlns="http://datacite.org/schema/kernel-4">'
        '<identifier identifierType="DOI">10.1234/LONG-RIGHTS</identifier>'
        "<creators><creator><creatorName>A</creatorName></creator></creators>"
        "<titles><title>T</title></titles><publisher>P</publisher>"
        "<publicationYear>2020</publicationYear>"
        '<resourceType resourceTypeGeneral="Dataset"/>'
        f"<rightsList><rights>{licence}</rights></rightsList></resource>"
    ).encode()
    r = ingest_app.call("POST", "/api/records", data=document, headers=XML)
    assert r.status_code == 201, r.text
    rights = r.json()["metadata"]["rightsList"][0]["rights"]
    assert len(rights) == 2000 and rights.endswith("…")
    assert "rightsList.rights cut to 2000 characters" in r.json()["warnings"]
    assert ingest_app.get(f"/api/records/{r.json()['id']}/document").content == document
