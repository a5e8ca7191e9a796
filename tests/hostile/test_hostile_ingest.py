"""Hostile depositors against a real server: every derived size and cost bounded (issue 18).

Each test asserts the refusal, that it came in bounded time and, where a request could make
the server derive something large, that the server process's peak RSS stayed bounded.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.hostile

KERNEL4 = (
    Path(__file__).resolve().parents[2]
    / "catalogue/demo/data/datacite/xml-kernel-4/datacite-example-full-v4.xml"
)
# Peak RSS growth a refused request may cause; the attacks measured in the issue took
# the server past 4.6 GB (patch) and 1 GB (concurrent pages).
MAX_GROWTH_MB = 150


def metadata(title: str = "Hostile", *, doi: str | None = None, **extra: Any) -> dict:
    md: dict[str, Any] = {
        "titles": [{"title": title}],
        "creators": [{"name": "Curie, Marie", "nameType": "Personal"}],
        "publisher": "Catalogue",
        "publicationYear": 2024,
        "types": {"resourceTypeGeneral": "Dataset"},
    }
    if doi:
        md["identifiers"] = [{"identifier": doi, "identifierType": "DOI"}]
    md.update(extra)
    return md


def create(served, md: dict, **envelope: Any) -> Any:
    r = served.call("POST", "/api/records", json={"metadata": md, **envelope})
    assert r.status_code == 201, r.text
    return r


def test_json_patch_copy_doubling_is_refused(served, timed) -> None:
    r = create(served, metadata("doubling", descriptions=[{"description": "x" * 50_000}]))
    url, etag = f"/api/records/{r.json()['id']}", r.headers["ETag"]
    # each op copies the whole metadata into itself: 26 of them took the server past 4.6 GB
    doubling = [
        {"op": "copy", "from": "/metadata", "path": "/metadata/descriptions/0/more"}
        for _ in range(40)
    ]
    headers = {"If-Match": etag, "Content-Type": "application/json-patch+json"}
    start = served.status()["VmRSS"]
    served.reset_peak()
    with timed(10):
        r = served.call("PATCH", url, data=json.dumps(doubling), headers=headers)
    assert r.status_code == 413, r.text
    assert r.json()["errors"][0]["field"].startswith("/")
    assert "larger than" in r.json()["message"]
    assert served.peak_growth_mb(start) < MAX_GROWTH_MB

    too_many = [{"op": "test", "path": "/id", "value": "x"}] * 1001
    with timed(10):
        r = served.call("PATCH", url, data=json.dumps(too_many), headers=headers)
    assert r.status_code == 413 and "at most 1000 operations" in r.json()["message"]
    # nothing changed
    assert served.get(url).headers["ETag"] == etag


def test_registered_schema_validation_is_bounded_and_blocks_nobody(served, timed) -> None:
    admin = served.tokens["admin"]

    def register(schema_id: str, content: Any, token: str = admin) -> Any:
        body = {"id": schema_id, "type": "json", "content": content}
        return served.call("POST", "/api/schemas", json=body, token=token)

    # depositors may not register schemas (only admins, by default)
    assert (
        register("redos", {"type": "object"}, token=served.tokens["depositor"]).status_code == 403
    )
    # patterns needing a backtracking engine are refused at registration
    r = register("lookaround", {"properties": {"v": {"pattern": "(?=a)a"}}})
    assert r.status_code == 400 and "lookaround" in r.json()["errors"][0]["message"]

    # ^(a+)+$ on 29 characters froze every thread for 16 s: now linear-time
    assert register("redos", {"properties": {"v": {"type": "string", "pattern": "^(a+)+$"}}}).ok
    with timed(3):
        r = served.call(
            "POST",
            "/api/records",
            json={"metadata": metadata(extra={"v": "a" * 29 + "!"}), "schema": "redos"},
        )
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "/metadata/extra/v"

    # uniqueItems over 6,000 objects burned 2 minutes of CPU
    assert register("unique", {"properties": {"v": {"uniqueItems": True}}}).ok
    items = [{"n": n, "tags": [str(n), "x"]} for n in range(6000)]
    with timed(5):
        r = served.call(
            "POST",
            "/api/records",
            json={"metadata": metadata(extra={"v": items}), "schema": "unique"},
        )
    assert r.status_code == 201, r.text

    # exponential evaluation (nested anyOf over nested arrays): time-boxed in a worker,
    # and anonymous requests meanwhile are answered at once
    branch = {"type": "array", "items": {"$ref": "#/$defs/n"}}
    exploding = {
        "$defs": {"n": {"anyOf": [branch, dict(branch)]}},
        "properties": {"v": {"$ref": "#/$defs/n"}},
    }
    assert register("exploding", exploding).ok
    nested: Any = 1
    for _ in range(24):
        nested = [nested]
    answered: list[float] = []

    def identify_meanwhile() -> None:
        time.sleep(0.3)
        began = time.monotonic()
        assert served.get("/oai?verb=Identify", timeout=10).status_code == 200
        answered.append(time.monotonic() - began)

    side = threading.Thread(target=identify_meanwhile)
    side.start()
    with timed(6):
        r = served.call(
            "POST",
            "/api/records",
            json={"metadata": metadata(extra={"v": nested}), "schema": "exploding"},
        )
    side.join()
    assert r.status_code == 422, r.text
    # whichever bound the worker hits first (its time or its memory cap) ends it
    message = r.json()["message"]
    assert "longer than" in message or "more memory" in message, message
    assert answered and answered[0] < 1.5  # the validation's 2 s never held it up
    # the replaced worker validates the next deposit normally
    r = served.call(
        "POST",
        "/api/records",
        json={"metadata": metadata(extra={"v": [[]]}), "schema": "exploding"},
    )
    assert r.status_code == 201, r.text


def test_xsd_internal_limit_is_a_clean_400(served, timed) -> None:
    xsd = (Path(__file__).parent / "xsd_limit.xsd").read_text()
    r = served.call(
        "POST",
        "/api/schemas",
        json={"id": "limit-xsd", "type": "xsd", "content": xsd},
        token=served.tokens["admin"],
    )
    assert r.status_code == 201, r.text
    document = KERNEL4.read_bytes().replace(b"10.82433/B09Z-4K37", b"10.82433/" + b"a" * 1000)
    files = {
        "record": ("record.json", json.dumps({"schema": "limit-xsd"}), "application/json"),
        "document": ("doc.xml", document, "application/xml"),
    }
    with timed(5):
        r = served.call("POST", "/api/records", files=files)
    assert r.status_code == 400, r.text
    assert any("internal limit" in e["message"] for e in r.json()["errors"]), r.text


def test_record_size_limit_413(served, timed) -> None:
    big = metadata("big", descriptions=[{"description": "y" * 100_000}] * 11)  # ~1.1 MB
    with timed(10):
        r = served.call("POST", "/api/records", json={"metadata": big})
    assert r.status_code == 413, r.text
    assert "ingest.max_record_bytes" in r.json()["errors"][0]["message"]
    # in a list: that item is 413, the request stores nothing
    r = served.call(
        "POST", "/api/records", json=[{"metadata": metadata("small")}, {"metadata": big}]
    )
    assert r.status_code == 413
    assert [item["status"] for item in r.json()["items"]] == [200, 413]


def test_error_responses_are_capped(served, timed) -> None:
    bad = {
        "metadata": {
            "titles": [{"title": 5}],
            "types": {"resourceTypeGeneral": "Nonsense"},
            "language": "x" * 500,
            "publicationYear": "not a year",
        }
    }
    body = [bad] * 5000
    body[0] = {"metadata": {"titles": "z" * 3_000_000, "types": {"resourceTypeGeneral": "X"}}}
    start = served.status()["VmRSS"]
    served.reset_peak()
    with timed(60):
        r = served.call("POST", "/api/records", json=body)
    assert r.status_code == 400
    assert len(r.content) < 3_000_000, len(r.content)
    answer = r.json()
    assert len(answer["errors"]) <= 100 and answer["errors_omitted"] > 0
    assert all(len(e["message"]) <= 300 for e in answer["errors"])
    assert all(len(item.get("errors", [])) <= 10 for item in answer["items"])
    assert served.peak_growth_mb(start) < 1000


def test_ambiguous_bodies_are_refused(served) -> None:
    r = served.call(
        "POST",
        "/api/records",
        data='{"metadata": {"titles": [{"title": "a"}]}, "metadata": {}}',
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 400 and "more than once" in r.json()["errors"][0]["message"]
    files = [
        ("record", ("record.json", "{}", "application/json")),
        ("document", ("a.xml", KERNEL4.read_bytes(), "application/xml")),
        ("document", ("b.xml", KERNEL4.read_bytes(), "application/xml")),
    ]
    r = served.call("POST", "/api/records", files=files)
    assert r.status_code == 400
    assert {"field": "/document", "message": "part given more than once; send exactly one"} in (
        r.json()["errors"]
    )


def test_doi_uniqueness_compares_normalised_dois(served) -> None:
    create(served, metadata("first", doi="10.5555/HOSTILE-X"))
    for form in (
        "https://doi.org/10.5555/HOSTILE-X",
        "doi:10.5555/hostile-x",
        " 10.5555/HOSTILE-X",
    ):
        r = served.call("POST", "/api/records", json={"metadata": metadata(doi=form)})
        assert r.status_code == 409, (form, r.text)
        assert r.json()["errors"][0]["field"] == "/metadata/identifiers"


def test_token_names_are_shown_to_admins_only(served) -> None:
    rid = create(served, metadata("whose")).json()["id"]
    for token in (None, served.tokens["depositor"], "not-a-token"):
        body = served.call("GET", f"/api/records/{rid}", token=token).json()
        assert "created_by" not in body and "updated_by" not in body
    body = served.call("GET", f"/api/records/{rid}", token=served.tokens["admin"]).json()
    assert body["created_by"] == "depositor-1"
    for schema in served.get("/api/schemas").json()["schemas"]:
        assert "created_by" not in schema


def test_no_internals_in_error_messages(served) -> None:
    r = served.call(
        "POST",
        "/api/records",
        data='{"metadata": {"publicationYear": ' + "9" * 5000 + "}}",
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 400
    assert "sys." not in r.text and "4300 digits" in r.text


def test_metastore_dialect_validation_is_time_boxed_too(served, timed) -> None:
    branch = {"type": "array", "items": {"$ref": "#/$defs/n"}}
    exploding = {
        "$defs": {"n": {"anyOf": [branch, dict(branch)]}},
        "properties": {"v": {"$ref": "#/$defs/n"}},
    }
    body = {"id": "exploding-ms", "type": "json", "content": exploding}
    assert served.call("POST", "/api/schemas", json=body, token=served.tokens["admin"]).ok
    nested: Any = 1
    for _ in range(24):
        nested = [nested]
    record = {
        "titles": [{"value": "exploding"}],
        "resourceType": {"value": "JSON_Metadata", "typeGeneral": "MODEL"},
        "relatedIdentifiers": [
            {"identifierType": "URL", "value": "exploding-ms", "relationType": "HAS_METADATA"},
            {"identifierType": "URL", "value": "https://repo/x", "relationType": "IS_METADATA_FOR"},
        ],
    }
    files = {
        "record": ("record.json", json.dumps(record), "application/json"),
        "document": ("doc.json", json.dumps({"v": nested}), "application/json"),
    }
    with timed(6):
        r = served.call("POST", "/api/metastore/v2/metadata", files=files)
    assert r.status_code == 422, r.text
    message = r.json()["message"]  # the worker's time limit or its memory cap
    assert "longer than" in message or "more memory" in message, message
