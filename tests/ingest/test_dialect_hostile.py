"""Hostile input to the dialect endpoints: refused with the right status, nothing stored."""

from __future__ import annotations

import json

from test_dialect_mdm import URL as MDM
from test_dialect_mdm import add_request, attribute
from test_dialect_metastore import URL as METASTORE
from test_dialect_metastore import form, record, register
from test_dialect_unis import EXAMPLE, UNIS


def _unis(app, body: bytes):
    return app.call("POST", "/api/unis/metadata", data=body, headers=UNIS)


def test_unis_hostile(ingest_app) -> None:
    nul = {**EXAMPLE, "eventType": "a\u0000b"}
    assert _unis(ingest_app, json.dumps(nul).encode()).status_code == 400
    deep: dict = {}
    node = deep
    for _ in range(40):
        node["x"] = {}
        node = node["x"]
    assert (
        _unis(ingest_app, json.dumps({**EXAMPLE, "parameters": deep}).encode()).status_code == 400
    )
    assert _unis(ingest_app, b"[" * 100_000 + b"]" * 100_000).status_code == 400
    assert _unis(ingest_app, b"\xff\xfe{}").status_code == 400
    limit = ingest_app.settings["ingest"]["max_list_items"]
    many = json.dumps([EXAMPLE] * (limit + 1)).encode()
    assert _unis(ingest_app, many).status_code == 413
    assert ingest_app.local_count() == 0


def test_mdm_hostile(ingest_app) -> None:
    for bad in (
        add_request(attribute("title", "a\u0000b")),
        add_request(attribute("title", "t"), {"name": "x" * 5000, "value": "v"}),
        add_request(*[attribute("title", "t")] * 1001),
    ):
        r = ingest_app.post(bad, path=MDM)
        assert r.status_code == 400, r.text[:300]
        assert r.json()["success"] is False
    assert ingest_app.local_count() == 0


def test_metastore_hostile(ingest_app) -> None:
    register(ingest_app)
    xxe = (
        b'<?xml version="1.0"?><!DOCTYPE s [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<sample xmlns="http://example.org/sample"><title>&x;</title></sample>'
    )
    r = ingest_app.call(
        "POST", METASTORE, files=form(record("sample_xml", None), xxe, "application/xml")
    )
    # never resolved: the entity stays a reference (or the document is refused)
    assert r.status_code in (201, 400, 422) and "root:" not in r.text
    if r.status_code == 201:
        got = ingest_app.get(f"{METASTORE}/{r.json()['id']}")
        assert got.content == xxe and "root:" not in got.text
    # a document is kept as bytes: even U+0000 escaped in it is stored and returned as sent
    nul = b'{"title": "a\\u0000"}'
    r = ingest_app.call("POST", METASTORE, files=form(record(), nul))
    assert r.status_code == 201, r.text
    assert ingest_app.get(f"{METASTORE}/{r.json()['id']}").content == nul
    before = ingest_app.local_count()
    files = {**form(record(), b'{"title": "t"}'), "extra": ("e", b"x")}
    assert ingest_app.call("POST", METASTORE, files=files).status_code == 400
    assert ingest_app.local_count() == before
