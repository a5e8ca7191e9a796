"""perfSONAR UNIS clients: POST /api/unis/metadata as the UNIS reference documents it."""

from __future__ import annotations

import json

from lxml import etree

PROFILE = "http://unis.incntre.iu.edu/schema/20120709/metadata#"
UNIS = {"Content-Type": f"application/perfsonar+json ;profile={PROFILE}"}
# The reference's example request, byte for byte in content
EXAMPLE = {
    "$schema": PROFILE,
    "subject": {"href": "https://example.com/ports/1", "rel": "full"},
    "eventType": "some event type",
    "parameters": {
        "datumSchema": "http://unis.incntre.iu.edu/schema/20120709/datum#",
        "collectionInterval": 30000,
    },
}


def post(app, body, headers=UNIS, **kw):
    return app.call(
        "POST", "/api/unis/metadata", data=json.dumps(body).encode(), headers=headers, **kw
    )


def test_insert_one_as_the_reference_shows(ingest_app) -> None:
    r = post(ingest_app, EXAMPLE)
    assert r.status_code == 201, r.text
    assert r.headers["Content-Type"].startswith("application/perfsonar+json")
    assert PROFILE in r.headers["Content-Type"]
    body = r.json()
    assert len(body["id"]) == 24 and int(body["id"], 16) >= 0
    assert isinstance(body["ts"], int) and body["ts"] > 1_600_000_000_000_000
    assert body["selfRef"] == f"{ingest_app.url}/api/unis/metadata/{body['id']}"
    assert r.headers["Location"] == body["selfRef"]
    for key, value in EXAMPLE.items():
        assert body[key] == value

    got = ingest_app.get(f"/api/unis/metadata/{body['id']}")
    assert got.status_code == 200 and got.json() == body
    assert got.headers["Content-Type"].startswith("application/perfsonar+json")

    # a catalogue record like every deposit: source local, set local:unis, searchable, OAI
    record = ingest_app.get(f"/api/records/{body['id']}").json()
    assert record["source"] == "local"
    assert record["sets"] == ["source:local", "source:local:unis"]
    assert record["metadata"]["titles"] == [
        {"title": "some event type of https://example.com/ports/1"}
    ]
    assert ingest_app.store.get_record_state(body["id"]).created_by == "depositor-1"
    ingest_app.indexer.catch_up()
    hits = ingest_app.get("/api/records", params={"q": "event"}).json()
    assert body["id"] in [h["id"] for h in hits["hits"]]
    oai = ingest_app.get(
        "/oai",
        params={"verb": "ListIdentifiers", "metadataPrefix": "oai_dc", "set": "source:local:unis"},
    )
    root = etree.fromstring(oai.content)
    ids = [e.text for e in root.iter("{http://www.openarchives.org/OAI/2.0/}identifier")]
    assert [i.rsplit(":", 1)[-1] for i in ids] == [body["id"]]


def test_insert_a_list(ingest_app) -> None:
    second = {**EXAMPLE, "eventType": "another event type"}
    r = post(ingest_app, [EXAMPLE, second])
    assert r.status_code == 201, r.text
    body = r.json()
    assert [o["eventType"] for o in body] == ["some event type", "another event type"]
    assert len({o["id"] for o in body}) == 2
    assert ingest_app.local_count() == 2


def test_errors_as_the_reference_says(ingest_app) -> None:
    # 401 without credentials
    r = post(ingest_app, EXAMPLE, token=None)
    assert r.status_code == 401
    # 400: the data failed validation (every object checked; nothing stored)
    bad = [EXAMPLE, {"subject": {"rel": "full"}}, {"eventType": 5, "subject": {"href": "x"}}]
    r = post(ingest_app, bad)
    assert r.status_code == 400
    fields = {e["field"] for e in r.json()["errors"]}
    assert {"/1", "/2/eventType"} <= fields or {"/1/subject", "/2/eventType"} <= fields
    node = {**EXAMPLE, "$schema": "http://unis.incntre.iu.edu/schema/20120709/node#"}
    r = post(ingest_app, node)
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "/$schema"
    for body in ([], "text", None):
        assert post(ingest_app, body).status_code == 400
    r = ingest_app.call("POST", "/api/unis/metadata", data=b"{", headers=UNIS)
    assert r.status_code == 400
    # 409: the metadata was inserted before (same id)
    r = post(ingest_app, {**EXAMPLE, "id": "4fb2b024f473535056000000"})
    assert r.status_code == 201
    again = post(
        ingest_app, [{**EXAMPLE, "id": "fresh-one"}, {**EXAMPLE, "id": "4fb2b024f473535056000000"}]
    )
    assert again.status_code == 409
    assert ingest_app.local_count() == 1
    # wrong media type or profile
    assert post(ingest_app, EXAMPLE, headers={"Content-Type": "text/plain"}).status_code == 415
    other = {"Content-Type": "application/perfsonar+json; profile=http://x/schema/node#"}
    assert post(ingest_app, EXAMPLE, headers=other).status_code == 415
    assert ingest_app.get("/api/unis/metadata/nope").status_code == 404


def test_get_of_a_record_not_deposited_through_unis_is_404(ingest_app) -> None:
    from ingest_support import metadata

    rid = ingest_app.create(metadata("plain")).json()["id"]
    assert ingest_app.get(f"/api/unis/metadata/{rid}").status_code == 404
