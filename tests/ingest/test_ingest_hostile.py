"""Hostile input: a clear 4xx, never a 500, and nothing stored."""

from __future__ import annotations

import json

import pytest
import requests
from ingest_support import metadata

pytestmark = pytest.mark.hostile

XML = {"Content-Type": "application/xml"}
JSON = {"Content-Type": "application/json"}

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE resource [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<resource xmlns="http://datacite.org/schema/kernel-4"><titles><title>&xxe;</title></titles></resource>
"""
BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<dc xmlns="http://www.openarchives.org/OAI/2.0/oai_dc/">&lol4;</dc>
"""
EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE resource SYSTEM "http://127.0.0.1:9/evil.dtd">
<resource xmlns="http://datacite.org/schema/kernel-4"/>
"""


def assert_nothing_stored(app) -> None:
    assert app.local_count() == 0 and app.local_count(deleted=True) == 0
    assert app.store.last_seq() == 0


@pytest.mark.parametrize(
    "document", [XXE, BILLION_LAUGHS, EXTERNAL_DTD], ids=["xxe", "laughs", "dtd"]
)
def test_hostile_xml_400(ingest_app, document) -> None:
    r = ingest_app.call("POST", "/api/records", data=document, headers=XML)
    assert r.status_code == 400, r.text
    assert "root:" not in r.text  # nothing of /etc/passwd
    assert_nothing_stored(ingest_app)


def test_body_over_the_limit_413(ingest_app) -> None:
    body = b"[" + b" " * (50 * 1024 * 1024) + b"]"
    try:
        r = ingest_app.call("POST", "/api/records", data=body, headers=JSON)
    except requests.ConnectionError:
        # A server may close the connection while the client is still sending the rest of
        # an oversize body; what matters is that it refused it and stored nothing.
        pass
    else:
        assert r.status_code == 413
        assert r.json()["status"] == 413
    assert_nothing_stored(ingest_app)


def test_too_many_records_in_a_list_413(ingest_app) -> None:
    limit = ingest_app.settings.ingest.max_list_items
    r = ingest_app.post([{}] * (limit + 1))
    assert r.status_code == 413
    assert_nothing_stored(ingest_app)


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000 + b"]" * 100_000,
        json.dumps({"metadata": metadata(extra=json.loads("[" * 40 + "]" * 40))}).encode(),
        b'{"metadata": ' + b'{"a":' * 5000 + b"1" + b"}" * 5000 + b"}",
    ],
    ids=["array", "extra", "objects"],
)
def test_deeply_nested_json_400(ingest_app, body) -> None:
    r = ingest_app.call("POST", "/api/records", data=body, headers=JSON)
    assert r.status_code == 400, r.text[:300]
    assert "nested deeper" in r.text
    assert_nothing_stored(ingest_app)


@pytest.mark.parametrize(
    "body",
    [
        b'{"metadata": {"titles": [{"title": "\xff\xfe"}]}}',
        b"\xef\xbb\xbf\xc3",
        b'{"metadata": NaN}',
        b'{"metadata": {"publicationYear": 1e400}}',
        b'{"metadata": ' + b"9" * 5000 + b"}",
        b"",
        b"{",
        b'{"a": 1}{"b": 2}',
    ],
)
def test_bad_json_bytes_400(ingest_app, body) -> None:
    r = ingest_app.call("POST", "/api/records", data=body, headers=JSON)
    assert r.status_code == 400, r.text
    assert r.json()["errors"]
    assert_nothing_stored(ingest_app)


def test_nul_and_lone_surrogates_rejected_per_field(ingest_app) -> None:
    body = (
        '{"metadata": {"titles": [{"title": "a\\u0000b"}], "types": {"resourceTypeGeneral": '
        '"Dataset"}, "publisher": "\\ud800", "extra": {"k\\u0000": 1}}, "sets": ["x"]}'
    )
    r = ingest_app.call("POST", "/api/records", data=body.encode(), headers=JSON)
    assert r.status_code == 400
    fields = {e["field"] for e in r.json()["errors"]}
    assert fields == {"/metadata/titles/0/title", "/metadata/publisher", "/metadata/extra/?"}
    assert_nothing_stored(ingest_app)


def test_a_bad_string_in_one_item_of_a_list_stores_nothing(ingest_app) -> None:
    items = [{"metadata": metadata("fine")}, {"metadata": metadata("bad\u0000")}]
    r = ingest_app.call("POST", "/api/records", data=json.dumps(items).encode(), headers=JSON)
    assert r.status_code == 400
    assert r.json()["errors"] == [
        {
            "field": "/1/metadata/titles/0/title",
            "message": "contains U+0000, which cannot be stored",
        }
    ]
    assert_nothing_stored(ingest_app)


def test_wrong_types_everywhere_every_field_listed(ingest_app) -> None:
    body = {
        "id": 7,
        "sets": "all",
        "schema": [],
        "metadata": {
            "titles": {"title": "x"},
            "types": "Dataset",
            "publicationYear": "next year",
            "creators": [{"name": 5}],
        },
        "bogus": True,
    }
    r = ingest_app.post(body)
    assert r.status_code == 400
    fields = {e["field"] for e in r.json()["errors"]}
    assert {
        "/id",
        "/sets",
        "/schema",
        "/bogus",
        "/metadata/titles",
        "/metadata/types",
        "/metadata/publicationYear",
        "/metadata/creators/0/name",
    } <= fields
    for scalar in (b"null", b"5", b'"text"', b"true"):
        r = ingest_app.call("POST", "/api/records", data=scalar, headers=JSON)
        assert r.status_code == 400, scalar
    assert_nothing_stored(ingest_app)


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "image/png",
        "application/json; charset=latin-1",
    ],
)
def test_unsupported_content_type_415(ingest_app, content_type) -> None:
    r = ingest_app.call("POST", "/api/records", data=b"{}", headers={"Content-Type": content_type})
    assert r.status_code == 415
    assert r.json()["errors"][0]["field"] == "Content-Type"


def test_no_content_type_415(ingest_app) -> None:
    r = ingest_app.call("POST", "/api/records", data=b'{"metadata": {}}')
    assert r.status_code == 415


def test_hostile_ids_and_paths(ingest_app) -> None:
    for rid in ("../etc", "a/b", "x" * 65, "", "é", " a"):
        r = ingest_app.post({"id": rid, "metadata": metadata()})
        assert r.status_code == 400, rid
    r = ingest_app.call("DELETE", "/api/records/%00", headers={"If-Match": "*"})
    assert r.status_code == 404
    r = ingest_app.call(
        "PUT",
        "/api/records/" + "x" * 5000,
        json={"metadata": metadata()},
        headers={"If-Match": "*"},
    )
    assert r.status_code in (404, 414)
    assert_nothing_stored(ingest_app)


def test_digits_that_are_not_ascii_are_text_not_numbers(ingest_app) -> None:
    """ "³".isdigit() is true and int("³") raises: superscript digits in a year or a date
    are refused or kept as text, never a 500, and the record's exports still work."""
    odd_year = ingest_app.post({"metadata": metadata(publicationYear="³")})
    assert odd_year.status_code == 400, odd_year.text
    assert odd_year.json()["errors"][0]["field"] == "/metadata/publicationYear"
    dated = ingest_app.post(
        {"metadata": metadata(dates=[{"date": "²⁰²⁴-01-01", "dateType": "Issued"}])}
    )
    assert dated.status_code == 201, dated.text
    identifier = f"oai:{ingest_app.settings.oai.repository_identifier}:{dated.json()['id']}"
    for prefix in ("oai_datacite", "oai_dc"):
        r = ingest_app.get(
            "/oai", params={"verb": "GetRecord", "metadataPrefix": prefix, "identifier": identifier}
        )
        assert r.status_code == 200 and "<error" not in r.text, r.text[:500]


def test_a_value_past_its_limit_is_named_with_the_reason(ingest_app) -> None:
    body = {"metadata": metadata(creators=[{"name": "N" * 2001}])}
    r = ingest_app.post(body)
    assert r.status_code == 400
    [error] = [e for e in r.json()["errors"] if e["field"] == "/metadata/creators/0/name"]
    assert error["message"].endswith("is too long") and len(error["message"]) < 200
    assert ingest_app.local_count() == 0
