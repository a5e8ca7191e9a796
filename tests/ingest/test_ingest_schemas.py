"""The schema registry and records that name a registered schema."""

from __future__ import annotations

import json

from ingest_support import metadata

from catalogue.demo import DEMO_DATA

KERNEL4 = DEMO_DATA / "datacite/xml-kernel-4/datacite-example-full-v4.xml"
INSTRUMENT = {
    "type": "object",
    "required": ["instrument"],
    "properties": {
        "instrument": {"type": "string", "minLength": 2},
        "channels": {"type": "integer", "minimum": 1},
    },
}
# Any kernel-4 resource; the strict variant allows at most one child element.
XSD = """<?xml version="1.0"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"
           targetNamespace="http://datacite.org/schema/kernel-4"
           xmlns="http://datacite.org/schema/kernel-4" elementFormDefault="qualified">
  <xs:element name="resource">
    <xs:complexType>
      <xs:sequence>
        <xs:any processContents="skip" minOccurs="0" maxOccurs="unbounded"/>
      </xs:sequence>
      <xs:anyAttribute processContents="skip"/>
    </xs:complexType>
  </xs:element>
</xs:schema>
"""
XSD_STRICT = XSD.replace('minOccurs="0" maxOccurs="unbounded"', 'minOccurs="0" maxOccurs="1"')


def register(app, body, **kw):
    # Only admins register schemas (issue 18): a schema runs on every deposit naming it.
    kw.setdefault("token", app.admin)
    return app.post(body, path="/api/schemas", **kw)


def test_register_list_get_versions(ingest_app) -> None:
    r = register(
        ingest_app, {"id": "instrument", "type": "json", "content": INSTRUMENT, "label": "I"}
    )
    assert r.status_code == 201, r.text
    assert r.json()["version"] == 1 and r.json()["versions"] == [1]
    assert r.headers["Location"].endswith("/api/schemas/instrument?version=1")
    assert r.json()["created_by"] == "admin-1"
    assert "created_by" not in ingest_app.get("/api/schemas").json()["schemas"][0]
    same = register(ingest_app, {"id": "instrument", "type": "json", "content": INSTRUMENT})
    assert same.status_code == 200 and same.json()["version"] == 1
    v2 = dict(INSTRUMENT, required=["instrument", "channels"])
    r = register(
        ingest_app, {"id": "instrument", "type": "json", "content": v2}, token=ingest_app.admin
    )
    assert r.status_code == 201 and r.json()["version"] == 2

    listed = ingest_app.get("/api/schemas").json()
    assert listed["total"] == 1
    assert listed["schemas"][0]["version"] == 2 and listed["schemas"][0]["versions"] == [1, 2]
    got = ingest_app.get("/api/schemas/instrument").json()
    assert got["version"] == 2 and got["content"] == v2
    assert ingest_app.get("/api/schemas/instrument?version=1").json()["content"] == INSTRUMENT
    assert ingest_app.get("/api/schemas/instrument?version=9").status_code == 404
    assert ingest_app.get("/api/schemas/nothing").status_code == 404
    assert ingest_app.get("/api/schemas/instrument?version=x").status_code == 400
    assert ingest_app.get("/api/schemas/instrument?foo=1").status_code == 400


def test_register_errors(ingest_app) -> None:
    r = register(ingest_app, {"id": "bad id!", "type": "yaml", "extra": 1})
    assert r.status_code == 400
    assert {e["field"] for e in r.json()["errors"]} == {"/id", "/type", "/extra", "/content"}
    r = register(ingest_app, {"id": "s", "type": "json", "content": {"type": 5}})
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "/content"
    remote = {"$ref": "https://example.org/evil.json"}
    r = register(ingest_app, {"id": "s", "type": "json", "content": remote})
    assert r.status_code == 400 and "remote" in r.json()["errors"][0]["message"]
    r = register(ingest_app, {"id": "s", "type": "xsd", "content": "<notaschema/>"})
    assert r.status_code == 400
    including = XSD.replace(
        "<xs:element", '<xs:include schemaLocation="file:///etc/passwd"/><xs:element', 1
    )
    r = register(ingest_app, {"id": "s", "type": "xsd", "content": including})
    assert r.status_code == 400 and "self-contained" in r.json()["errors"][0]["message"]
    r = ingest_app.call(
        "POST",
        "/api/schemas",
        data="x",
        headers={"Content-Type": "text/plain"},
        token=ingest_app.admin,
    )
    assert r.status_code == 415
    # a depositor may not register schemas (ingest.depositors_register_schemas = false)
    assert register(ingest_app, {"id": "s"}, token=ingest_app.depositor).status_code == 403
    assert register(ingest_app, [1]).status_code == 400
    assert register(ingest_app, {"id": "s"}, token=None).status_code == 401
    assert ingest_app.get("/api/schemas").json()["total"] == 0


def test_record_extra_must_satisfy_its_json_schema(ingest_app) -> None:
    register(ingest_app, {"id": "instrument", "type": "json", "content": INSTRUMENT})
    bad = metadata(extra={"instrument": "X", "channels": 0})
    r = ingest_app.post({"metadata": bad, "schema": "instrument"})
    assert r.status_code == 400
    assert [e["field"] for e in r.json()["errors"]] == [
        "/metadata/extra/channels",
        "/metadata/extra/instrument",
    ]
    r = ingest_app.post({"metadata": metadata(), "schema": "instrument"})
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "/metadata/extra"
    good = metadata(extra={"instrument": "CTD", "channels": 4})
    r = ingest_app.post({"metadata": good, "schema": {"id": "instrument", "version": 1}})
    assert r.status_code == 201, r.text
    assert r.json()["schema"] == {"id": "instrument", "version": 1}
    assert ingest_app.store.get_record_state(r.json()["id"]).schema_id == "instrument"

    for ref in ("nothing", {"id": "instrument", "version": 7}, {"id": 5}, {"version": 0}):
        r = ingest_app.post({"metadata": good, "schema": ref})
        assert r.status_code == 400, ref
        assert r.json()["errors"][0]["field"].startswith("/schema")


def test_changing_only_the_schema_changes_the_etag(ingest_app) -> None:
    register(ingest_app, {"id": "instrument", "type": "json", "content": INSTRUMENT})
    md = metadata(extra={"instrument": "CTD"})
    created = ingest_app.create(md)
    rid, etag = created.json()["id"], created.headers["ETag"]
    r = ingest_app.call(
        "PUT",
        f"/api/records/{rid}",
        json={"metadata": md, "schema": "instrument"},
        headers={"If-Match": etag},
    )
    assert r.status_code == 200
    assert r.headers["ETag"] != etag and r.json()["schema"]["id"] == "instrument"
    # and back (no schema, same content): a new version, so not the first ETag again
    back = ingest_app.call(
        "PUT", f"/api/records/{rid}", json={"metadata": md}, headers={"If-Match": r.headers["ETag"]}
    )
    assert back.status_code == 200, back.text
    assert back.headers["ETag"] not in (etag, r.headers["ETag"])
    stale = ingest_app.call(
        "PUT", f"/api/records/{rid}", json={"metadata": md}, headers={"If-Match": etag}
    )
    assert stale.status_code == 412


def test_xsd_schema_applies_to_the_deposited_document(ingest_app) -> None:
    assert register(ingest_app, {"id": "loose", "type": "xsd", "content": XSD}).status_code == 201
    assert (
        register(ingest_app, {"id": "strict", "type": "xsd", "content": XSD_STRICT}).status_code
        == 201
    )
    document = ("d.xml", KERNEL4.read_bytes(), "application/xml")

    def deposit(schema: str):
        record = ("r.json", json.dumps({"schema": schema}), "application/json")
        return ingest_app.call(
            "POST", "/api/records", files={"record": record, "document": document}
        )

    r = deposit("strict")
    assert r.status_code == 400
    assert r.json()["errors"][0]["field"] == "/document"
    assert "strict v1" in r.json()["errors"][0]["message"]
    r = deposit("loose")
    assert r.status_code == 201, r.text
    assert r.json()["schema"] == {"id": "loose", "version": 1}
    # a JSON record cannot name an XML Schema
    r = ingest_app.post({"metadata": metadata(), "schema": "loose"})
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "/schema"
