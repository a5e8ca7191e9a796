"""KIT metastore2 API v2 clients: POST/GET/PUT /api/metastore/v2/metadata as metastore2 does."""

from __future__ import annotations

import json

URL = "/api/metastore/v2/metadata"
RECORD_TYPE = "application/vnd.datacite.org+json"
SCHEMA = {
    "type": "object",
    "required": ["title"],
    "properties": {"title": {"type": "string", "minLength": 1}},
}
XSD = """<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"
  targetNamespace="http://example.org/sample" xmlns="http://example.org/sample"
  elementFormDefault="qualified">
  <xs:element name="sample"><xs:complexType><xs:sequence>
    <xs:element name="title" type="xs:string"/>
  </xs:sequence></xs:complexType></xs:element>
</xs:schema>"""


def record(schema: str = "my_first_json", version: int | str | None = 1) -> dict:
    """The reference's metadata-record4json.json (its schema URL on another host)."""
    query = f"?version={version}" if version else ""
    return {
        "titles": [{"value": "Title of first metadata document"}],
        "resourceType": {"value": "JSON_Metadata", "typeGeneral": "MODEL"},
        "relatedIdentifiers": [
            {
                "identifierType": "URL",
                "value": f"http://localhost:8040/metastore/api/v2/schemas/{schema}{query}",
                "relationType": "HAS_METADATA",
            },
            {
                "identifierType": "URL",
                "value": "https://repo/anyResourceId",
                "relationType": "IS_METADATA_FOR",
            },
        ],
    }


def form(rec: dict | None, document: bytes | None, doc_type: str = "application/json") -> dict:
    files = {}
    if rec is not None:
        files["record"] = ("metadata-record4json.json", json.dumps(rec), "application/json")
    if document is not None:
        files["document"] = ("metadata.json", document, doc_type)
    return files


def register(app) -> None:
    for body in (
        {"id": "my_first_json", "type": "json", "content": SCHEMA},
        {"id": "sample_xml", "type": "xsd", "content": XSD},
    ):
        r = app.post(body, path="/api/schemas", token=app.admin)
        assert r.status_code == 201, r.text


def test_ingest_record_with_document(ingest_app) -> None:
    register(ingest_app)
    document = json.dumps({"title": "My first JSON document"}).encode()
    r = ingest_app.call("POST", URL, files=form(record(), document))
    assert r.status_code == 201, r.text
    body = r.json()
    rid = body["id"]
    assert r.headers["ETag"] and r.headers["Location"] == f"{ingest_app.url}{URL}/{rid}"
    # completed by the server, as metastore2 does
    assert body["titles"] == [{"value": "Title of first metadata document"}]
    assert body["version"] == "1" and body["state"] == "VOLATILE"
    assert body["identifier"] == {"identifierType": "DOI", "value": "(:tba)"}
    assert body["dates"][0]["type"] == "CREATED" and body["lastUpdate"]
    assert body["creators"] == [{"givenName": "depositor-1"}]
    has = [x for x in body["relatedIdentifiers"] if x["relationType"] == "HAS_METADATA"]
    assert has[0]["value"] == f"{ingest_app.url}/api/schemas/my_first_json?version=1"

    doc = ingest_app.get(f"{URL}/{rid}")
    assert doc.status_code == 200 and doc.json() == {"title": "My first JSON document"}
    assert doc.headers["ETag"] == r.headers["ETag"]
    rec = ingest_app.get(f"{URL}/{rid}", headers={"Accept": RECORD_TYPE})
    assert rec.headers["Content-Type"].startswith(RECORD_TYPE) and rec.json() == body

    stored = ingest_app.get(f"/api/records/{rid}").json()
    assert stored["sets"] == ["source:local", "source:local:metastore"]
    assert stored["schema"] == {"id": "my_first_json", "version": 1}
    assert stored["metadata"]["titles"] == [{"title": "Title of first metadata document"}]


def test_document_that_fails_its_schema_is_422(ingest_app) -> None:
    register(ingest_app)
    r = ingest_app.call("POST", URL, files=form(record(), b'{"titel": 5}'))
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "/document"
    assert "title" in r.json()["errors"][0]["message"]
    xml = b'<sample xmlns="http://example.org/sample"><nope/></sample>'
    r = ingest_app.call("POST", URL, files=form(record("sample_xml", None), xml, "application/xml"))
    assert r.status_code == 422, r.text
    ok = b'<sample xmlns="http://example.org/sample"><title>t</title></sample>'
    r = ingest_app.call("POST", URL, files=form(record("sample_xml", None), ok, "application/xml"))
    assert r.status_code == 201, r.text
    got = ingest_app.get(f"{URL}/{r.json()['id']}")
    assert got.headers["Content-Type"].startswith("application/xml") and got.content == ok
    assert ingest_app.local_count() == 1


def test_bad_requests(ingest_app) -> None:
    register(ingest_app)
    document = b'{"title": "x"}'
    assert (
        ingest_app.call("POST", URL, files=form(record(), document), token=None).status_code == 401
    )
    cases = [
        form(record(), None),  # no document
        form(None, document),  # no record
        form(record("unknown_schema"), document),
        form(record(version=7), document),
        form(record(version="³"), document),  # a digit to str.isdigit(), not to int()
        form(record(version="1x"), document),
        form({**record(), "relatedIdentifiers": record()["relatedIdentifiers"][:1]}, document),
        form({**record(), "titles": []}, document),
        {"record": ("r.json", "{not json", "application/json"), "document": ("d", document)},
    ]
    for files in cases:
        r = ingest_app.call("POST", URL, files=files)
        assert r.status_code == 400, (files, r.text)
    r = ingest_app.call("POST", URL, data=b"{}", headers={"Content-Type": "application/json"})
    assert r.status_code == 415
    assert ingest_app.local_count() == 0
    assert ingest_app.get(f"{URL}/nothing").status_code == 404


def test_put_needs_if_match(ingest_app) -> None:
    register(ingest_app)
    r = ingest_app.call("POST", URL, files=form(record(), b'{"title": "v1"}'))
    rid, etag = r.json()["id"], r.headers["ETag"]
    new_doc = form(None, b'{"title": "v2"}')
    assert ingest_app.call("PUT", f"{URL}/{rid}", files=new_doc).status_code == 428
    stale = ingest_app.call("PUT", f"{URL}/{rid}", files=new_doc, headers={"If-Match": '"old"'})
    assert stale.status_code == 412
    put = ingest_app.call("PUT", f"{URL}/{rid}", files=new_doc, headers={"If-Match": etag})
    assert put.status_code == 200, put.text
    assert put.json()["version"] == "2" and put.headers["ETag"] != etag
    assert ingest_app.get(f"{URL}/{rid}").json() == {"title": "v2"}
    # the record alone, keeping the document
    changed = {**record(), "titles": [{"value": "Renamed"}]}
    again = ingest_app.call(
        "PUT", f"{URL}/{rid}", files=form(changed, None), headers={"If-Match": put.headers["ETag"]}
    )
    assert again.status_code == 200 and again.json()["titles"] == [{"value": "Renamed"}]
    assert ingest_app.get(f"/api/records/{rid}").json()["metadata"]["titles"] == [
        {"title": "Renamed"}
    ]
    # a document that fails the schema stores nothing
    bad = ingest_app.call(
        "PUT", f"{URL}/{rid}", files=form(None, b"{}"), headers={"If-Match": again.headers["ETag"]}
    )
    assert bad.status_code == 422
    assert ingest_app.get(f"{URL}/{rid}").json() == {"title": "v2"}
