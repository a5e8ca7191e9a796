"""POST/GET/PUT/PATCH/DELETE of records over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from ingest_support import metadata
from lxml import etree

from catalogue.web.xsd import validate_deposit


def test_post_one_record_201_location_etag_and_get_returns_it(ingest_app) -> None:
    r = ingest_app.post({"metadata": metadata(doi="10.1234/ABC")})
    assert r.status_code == 201, r.text
    body = r.json()
    rid = body["id"]
    assert r.headers["Location"] == f"{ingest_app.url}/api/records/{rid}"
    assert body["links"]["self"] == r.headers["Location"]
    assert r.headers["ETag"].startswith('"') and len(r.headers["ETag"]) > 10
    assert body["source"] == "local" and body["source_id"] == rid
    assert body["sets"] == ["source:local"]
    # token names are personal data: shown to admins only (issue 18)
    assert "created_by" not in body and "updated_by" not in body
    assert body["created_at"] and body["datestamp"]
    as_admin = ingest_app.call("GET", f"/api/records/{rid}", token=ingest_app.admin).json()
    assert as_admin["created_by"] == as_admin["updated_by"] == "depositor-1"

    got = ingest_app.get(f"/api/records/{rid}")
    assert got.status_code == 200
    assert got.headers["ETag"] == r.headers["ETag"]
    assert got.json()["metadata"] == metadata(doi="10.1234/ABC")
    assert ingest_app.store.get_record_state(rid).created_by == "depositor-1"


def test_write_responses_are_the_stored_record(ingest_app) -> None:
    """POST and PUT answer with the record read back in their write transaction: the same
    body (but for ``warnings``) and ETag as a GET afterwards."""
    r = ingest_app.post({"metadata": metadata("v1"), "sets": ["proj"]})
    assert r.status_code == 201, r.text
    url = f"/api/records/{r.json()['id']}"

    def same_as_get(written) -> None:
        got = ingest_app.get(url)
        assert got.headers["ETag"] == written.headers["ETag"]
        body = written.json()
        # the test records have no identifier, which DataCite requires
        assert body.pop("warnings") == ["missing mandatory DataCite property identifier"]
        assert body["missing_mandatory"] == ["identifier"]
        assert body == got.json()

    same_as_get(r)
    put = ingest_app.call(
        "PUT", url, json={"metadata": metadata("v2")}, headers={"If-Match": r.headers["ETag"]}
    )
    assert put.status_code == 200, put.text
    assert put.json()["metadata"]["titles"] == metadata("v2")["titles"]
    same_as_get(put)


@pytest.mark.parametrize("written", ["https://doi.org/10.1234/Url", "doi:10.1234/Url"])
def test_a_doi_deposited_as_a_url_is_stored_bare(ingest_app, written: str) -> None:
    r = ingest_app.post({"metadata": metadata(doi=written)})
    assert r.status_code == 201, r.text
    assert r.json()["metadata"]["identifiers"] == [
        {"identifier": "10.1234/url", "identifierType": "DOI"}
    ]
    page = ingest_app.get(f"/records/{r.json()['id']}").text
    assert "https://doi.org/10.1234/url" in page and "doi.org/https" not in page


def test_client_id_honoured_once_then_409(ingest_app) -> None:
    r = ingest_app.post({"id": "my-record.1", "metadata": metadata()})
    assert r.status_code == 201
    assert r.json()["id"] == "my-record.1"
    again = ingest_app.post({"id": "my-record.1", "metadata": metadata("Other")})
    assert again.status_code == 409
    assert again.json()["errors"] == [
        {"field": "/id", "message": "id 'my-record.1' is already in use"}
    ]
    assert ingest_app.local_count() == 1


def test_id_of_a_harvested_record_is_taken(ingest_app) -> None:
    from catalogue.store import IncomingRecord, LocalWrite, ProblemKind

    ingest_app.store.upsert_page("zenodo", [IncomingRecord("z1", metadata())])
    rid = ingest_app.store.iter_records().__next__().id
    r = ingest_app.post({"id": rid, "metadata": metadata()})
    assert r.status_code == 400  # the shape of server-assigned ids is reserved
    # below the API's id check, the store refuses it too
    (result,) = ingest_app.store.write_local(
        [LocalWrite(rid=rid, op="create", metadata=metadata())], actor="x"
    )
    assert result.problem.kind is ProblemKind.ID_TAKEN
    assert ingest_app.store.get_record(rid).source == "zenodo"


@pytest.mark.parametrize("body_of", [lambda r: r, lambda r: [r]], ids=["one", "list"])
def test_client_ids_shaped_like_server_ids_are_reserved_400(ingest_app, body_of) -> None:
    """Harvested ids are computable (record_id(source, source id)): a depositor must not
    take the id of a record a harvest will write later."""
    from catalogue.model import record_id

    future = record_id("zenodo", "oai:zenodo.org:123")
    r = ingest_app.post(body_of({"id": future, "metadata": metadata()}))
    assert r.status_code == 400, r.text
    (error,) = r.json()["errors"]
    assert error["field"] in ("/id", "/0/id") and "reserved" in error["message"]
    assert ingest_app.local_count() == 0
    # ids of the documented pattern that are not of that shape stay fine
    for rid in ("ABCDEFGHIJKLMNOP", "abcdefghijklmno1", "abcdefghijklmnopq", "abcdefghijklmno"):
        assert ingest_app.post({"id": rid, "metadata": metadata(rid)}).status_code == 201
    # a server-assigned id may be sent back as it is (PUT of a fetched record)
    created = ingest_app.create(metadata("server id"))
    body = created.json()
    r = ingest_app.call(
        "PUT",
        f"/api/records/{body['id']}",
        json={"id": body["id"], "metadata": metadata("changed")},
        headers={"If-Match": created.headers["ETag"]},
    )
    assert r.status_code == 200, r.text


def test_a_harvest_never_overwrites_a_record_of_another_source(ingest_app) -> None:
    """A local record under the id a harvest computes (deposited before ids of that shape
    were reserved) stays as it is: the harvest's item fails, with an error row."""
    from catalogue.model import record_id
    from catalogue.store import IncomingRecord, LocalWrite, Outcome, RunError

    store = ingest_app.store
    rid = record_id("zenodo", "oai:zenodo.org:123")
    (squat,) = store.write_local(
        [LocalWrite(rid=rid, op="create", metadata=metadata("squatted"), sets=["source:local"])],
        actor="mallory",
    )
    assert squat.problem is None
    before = ingest_app.get(f"/api/records/{rid}")
    real = IncomingRecord("oai:zenodo.org:123", metadata("the real record"), ["source:zenodo"])
    other = IncomingRecord("oai:zenodo.org:124", metadata("another record"), ["source:zenodo"])
    errors: list[RunError] = []
    outcomes = dict(store.upsert_page("zenodo", [real, other], errors=errors))
    assert outcomes == {rid: Outcome.FAILED, record_id("zenodo", other.source_id): Outcome.ADDED}
    assert errors == [
        RunError(
            "oai:zenodo.org:123",
            "store",
            f"record id {rid} is held by a record of source 'local'; not overwritten",
        )
    ]
    # without an errors list the outcome alone says it; deletions are refused the same way
    gone = IncomingRecord("oai:zenodo.org:123", None, deleted=True)
    assert store.upsert_page("zenodo", [gone]) == [(rid, Outcome.FAILED)]
    after = ingest_app.get(f"/api/records/{rid}")
    assert after.status_code == 200
    assert after.json() == before.json() and after.headers["ETag"] == before.headers["ETag"]
    assert after.json()["source"] == "local"
    assert store.live_source_ids("zenodo") == {"oai:zenodo.org:124"}


def test_duplicate_doi_in_local_source_409_and_free_again_after_delete(ingest_app) -> None:
    first = ingest_app.create(metadata(doi="10.5555/dup"))
    r = ingest_app.post({"metadata": metadata("Copy", doi="10.5555/DUP")})
    assert r.status_code == 409
    assert r.json()["errors"][0]["field"] == "/metadata/identifiers"
    deleted = ingest_app.call(
        "DELETE", f"/api/records/{first.json()['id']}", headers={"If-Match": first.headers["ETag"]}
    )
    assert deleted.status_code == 204
    assert ingest_app.post({"metadata": metadata("Copy", doi="10.5555/dup")}).status_code == 201


def test_harvested_doi_does_not_block_a_deposit(ingest_app) -> None:
    from catalogue.store import IncomingRecord

    ingest_app.store.upsert_page("zenodo", [IncomingRecord("z1", metadata(doi="10.1/h"))])
    assert ingest_app.post({"metadata": metadata(doi="10.1/h")}).status_code == 201


def test_post_list_is_atomic_per_item_results(ingest_app) -> None:
    good = [{"metadata": metadata(f"Record {n}", doi=f"10.1/{n}")} for n in range(3)]
    r = ingest_app.post(good)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["created"] == 3 and body["failed"] == 0
    assert [item["index"] for item in body["items"]] == [0, 1, 2]
    for item in body["items"]:
        assert item["status"] == 201
        assert item["links"]["self"] == f"{ingest_app.url}/api/records/{item['id']}"
        assert ingest_app.get(f"/api/records/{item['id']}").headers["ETag"] == item["etag"]

    bad = [
        {"metadata": metadata("fine")},
        {"metadata": {"titles": []}},
        {"metadata": metadata("dup doi", doi="10.1/0")},
    ]
    r = ingest_app.post(bad)
    assert r.status_code == 400
    body = r.json()
    assert body["status"] == 400 and "nothing was stored" in body["message"]
    fields = {e["field"] for e in body["errors"]}
    assert "/1/metadata/titles" in fields and "/1/metadata" in fields
    assert "/2/metadata/identifiers" in fields
    assert [item.get("status") for item in body["items"]] == [200, 400, 409]
    assert ingest_app.local_count() == 3


def test_post_list_duplicate_ids_and_dois_inside_one_list_409(ingest_app) -> None:
    r = ingest_app.post(
        [
            {"id": "a", "metadata": metadata(doi="10.9/x")},
            {"id": "a", "metadata": metadata()},
            {"metadata": metadata(doi="10.9/X")},
        ]
    )
    assert r.status_code == 409
    assert [e["field"] for e in r.json()["errors"]] == ["/1/id", "/2/metadata/identifiers"]
    assert ingest_app.local_count() == 0


def test_post_list_not_atomic_stores_the_valid_ones(ingest_app) -> None:
    body = [{"metadata": metadata("ok 1")}, {"metadata": "nope"}, {"metadata": metadata("ok 2")}]
    r = ingest_app.post(body, path="/api/records?atomic=false")
    assert r.status_code == 201
    result = r.json()
    assert result["created"] == 2 and result["failed"] == 1
    assert result["items"][1]["status"] == 400
    assert result["items"][1]["errors"][0]["field"] == "/1/metadata"
    assert ingest_app.local_count() == 2

    r = ingest_app.post([{"metadata": 5}], path="/api/records?atomic=false")
    assert r.status_code == 400  # nothing at all stored: an error, not a 201
    assert ingest_app.local_count() == 2


@pytest.mark.parametrize("query", ["validate", "validate=", "atomic=", "validate=&atomic=false"])
def test_a_bare_or_empty_flag_is_refused_and_stores_nothing(ingest_app, query: str) -> None:
    r = ingest_app.post([{"metadata": metadata()}], path=f"/api/records?{query}")
    assert r.status_code == 400
    assert {e["field"] for e in r.json()["errors"]} <= {"validate", "atomic"}
    assert "must be true or false" in r.text
    assert ingest_app.local_count() == 0


def test_validate_only_stores_nothing(ingest_app) -> None:
    r = ingest_app.post({"metadata": metadata(doi="10.7/v")}, path="/api/records?validate=true")
    assert r.status_code == 200
    assert r.json()["valid"] is True
    r = ingest_app.post([{"metadata": metadata()}] * 2, path="/api/records?validate=true")
    assert r.status_code == 200 and len(r.json()["items"]) == 2
    r = ingest_app.post({"metadata": {"types": {}}}, path="/api/records?validate=1")
    assert r.status_code == 400
    assert {e["field"] for e in r.json()["errors"]} >= {"/metadata", "/metadata/types"}
    assert ingest_app.local_count() == 0
    assert ingest_app.store.last_seq() == 0

    ingest_app.create(metadata(doi="10.7/v"))
    r = ingest_app.post({"metadata": metadata(doi="10.7/v")}, path="/api/records?validate=true")
    assert r.status_code == 409  # validation includes the conflict checks


def test_bad_query_parameters_400(ingest_app) -> None:
    r = ingest_app.post({"metadata": metadata()}, path="/api/records?validate=maybe&x=1")
    assert r.status_code == 400
    assert {e["field"] for e in r.json()["errors"]} == {"validate", "x"}


def test_sets_are_namespaced_under_source_local(ingest_app) -> None:
    r = ingest_app.create(metadata(), sets=["project-x", "source:local:team:a", "source:local"])
    assert r.json()["sets"] == ["source:local", "source:local:project-x", "source:local:team:a"]
    bad = ingest_app.post({"metadata": metadata(), "sets": ["ok", "not a spec", 5]})
    assert bad.status_code == 400
    assert [e["field"] for e in bad.json()["errors"]] == ["/sets/1", "/sets/2"]
    # a fetched record can be sent back as it is: server-set members are ignored
    record = ingest_app.get(f"/api/records/{r.json()['id']}").json()
    put = ingest_app.call(
        "PUT", f"/api/records/{record['id']}", json=record, headers={"If-Match": r.headers["ETag"]}
    )
    assert put.status_code == 200, put.text
    assert put.json()["sets"] == r.json()["sets"]
    assert put.headers["ETag"] == r.headers["ETag"]  # nothing changed


# -- PUT -------------------------------------------------------------------------------


def test_put_needs_if_match_428_stale_412_then_replaces(ingest_app) -> None:
    created = ingest_app.create(metadata("v1"))
    rid, etag = created.json()["id"], created.headers["ETag"]
    url = f"/api/records/{rid}"
    new = {"metadata": metadata("v2")}
    r = ingest_app.call("PUT", url, json=new)
    assert r.status_code == 428
    assert r.json()["errors"] == [{"field": "If-Match", "message": "required"}]
    r = ingest_app.call("PUT", url, json=new, headers={"If-Match": '"0123"'})
    assert r.status_code == 412
    r = ingest_app.call("PUT", url, json=new, headers={"If-Match": etag}, token=ingest_app.admin)
    assert r.status_code == 200, r.text
    assert r.json()["metadata"]["titles"] == [{"title": "v2"}]
    assert r.json()["updated_by"] == "admin-1" and r.json()["created_by"] == "depositor-1"
    assert r.headers["ETag"] != etag
    # the old ETag is stale now
    r2 = ingest_app.call("PUT", url, json={"metadata": metadata("v3")}, headers={"If-Match": etag})
    assert r2.status_code == 412
    assert ingest_app.get(url).json()["metadata"]["titles"] == [{"title": "v2"}]
    # If-Match: * takes any current version
    r3 = ingest_app.call("PUT", url, json={"metadata": metadata("v4")}, headers={"If-Match": "*"})
    assert r3.status_code == 200


def test_put_errors(ingest_app) -> None:
    created = ingest_app.create(metadata())
    rid, etag = created.json()["id"], created.headers["ETag"]
    h = {"If-Match": etag}
    r = ingest_app.call(
        "PUT", f"/api/records/{rid}", json={"id": "other", "metadata": metadata()}, headers=h
    )
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "/id"
    r = ingest_app.call("PUT", "/api/records/nope", json={"metadata": metadata()}, headers=h)
    assert r.status_code == 404
    r = ingest_app.call("PUT", f"/api/records/{rid}", json=[{"metadata": metadata()}], headers=h)
    assert r.status_code == 400
    r = ingest_app.call(
        "PUT", f"/api/records/{rid}", data="x", headers={**h, "Content-Type": "text/plain"}
    )
    assert r.status_code == 415
    r = ingest_app.call(
        "PUT", f"/api/records/{rid}?validate=true", json={"metadata": metadata("t")}, headers=h
    )
    assert r.status_code == 200 and r.json()["valid"] is True
    assert ingest_app.get(f"/api/records/{rid}").headers["ETag"] == etag


def _version(store, rid: str) -> int:
    from sqlalchemy import text

    with store.engine.connect() as conn:
        row = conn.execute(text("SELECT version FROM records WHERE id = :id"), {"id": rid})
        return row.scalar_one()


def test_a_b_a_within_a_second_gives_a_new_etag_no_lost_update(ingest_app) -> None:
    """ETags hash a per-record version: content A -> B -> A (within the datestamp's one
    second) must not bring back A's first ETag, or a client holding it overwrites B's
    successor unseen."""
    created = ingest_app.create(metadata("A"), id="aba-1")
    url, e1 = "/api/records/aba-1", created.headers["ETag"]
    b = ingest_app.call("PUT", url, json={"metadata": metadata("B")}, headers={"If-Match": e1})
    e2 = b.headers["ETag"]
    a = ingest_app.call("PUT", url, json={"metadata": metadata("A")}, headers={"If-Match": e2})
    assert b.status_code == a.status_code == 200
    e3 = a.headers["ETag"]
    assert len({e1, e2, e3}) == 3
    lost = ingest_app.call(
        "PUT", url, json={"metadata": metadata("LOST-UPDATE")}, headers={"If-Match": e1}
    )
    assert lost.status_code == 412
    assert ingest_app.call("DELETE", url, headers={"If-Match": e1}).status_code == 412
    assert ingest_app.get(url).json()["metadata"]["titles"] == [{"title": "A"}]
    assert _version(ingest_app.store, "aba-1") == 3
    # an unchanged replace is no new version
    same = ingest_app.call("PUT", url, json={"metadata": metadata("A")}, headers={"If-Match": e3})
    assert same.status_code == 200 and same.headers["ETag"] == e3
    assert _version(ingest_app.store, "aba-1") == 3
    assert ingest_app.call("DELETE", url, headers={"If-Match": e3}).status_code == 204
    assert _version(ingest_app.store, "aba-1") == 4


def test_harvest_writes_increment_the_version(ingest_app) -> None:
    """The bulk UPDATEs of a page (content, tombstone) count versions in SQL."""
    from catalogue.model import record_id
    from catalogue.store import IncomingRecord

    store = ingest_app.store
    rids = [record_id("zenodo", f"z{n}") for n in range(3)]
    page = [IncomingRecord(f"z{n}", metadata(f"v1 {n}")) for n in range(3)]
    store.upsert_page("zenodo", page)
    assert [_version(store, rid) for rid in rids] == [1, 1, 1]
    store.upsert_page("zenodo", page)  # unchanged
    changed = [IncomingRecord("z0", metadata("v2")), IncomingRecord("z1", None, deleted=True)]
    store.upsert_page("zenodo", [*changed, page[2]])
    assert [_version(store, rid) for rid in rids] == [2, 2, 1]
    store.upsert_page("zenodo", [IncomingRecord("z1", metadata("back"))])
    assert _version(store, rids[1]) == 3


def test_harvested_records_cannot_be_changed(ingest_app) -> None:
    from catalogue.store import IncomingRecord

    ingest_app.store.upsert_page("zenodo", [IncomingRecord("z1", metadata())])
    rid = next(ingest_app.store.iter_records()).id
    r = ingest_app.call(
        "PUT", f"/api/records/{rid}", json={"metadata": metadata()}, headers={"If-Match": "*"}
    )
    assert r.status_code == 409
    r = ingest_app.call("DELETE", f"/api/records/{rid}", headers={"If-Match": "*"})
    assert r.status_code == 409
    assert not ingest_app.store.get_record(rid).deleted


def test_put_to_a_doi_held_by_another_record_409(ingest_app) -> None:
    ingest_app.create(metadata(doi="10.2/a"))
    b = ingest_app.create(metadata(doi="10.2/b"))
    r = ingest_app.call(
        "PUT",
        f"/api/records/{b.json()['id']}",
        json={"metadata": metadata(doi="10.2/a")},
        headers={"If-Match": b.headers["ETag"]},
    )
    assert r.status_code == 409


# -- PATCH ------------------------------------------------------------------------------


def test_patch_json_patch_validated_before_storing(ingest_app) -> None:
    created = ingest_app.create(metadata("before"))
    rid, etag = created.json()["id"], created.headers["ETag"]
    url = f"/api/records/{rid}"
    patch_type = {"Content-Type": "application/json-patch+json"}
    ops = [{"op": "replace", "path": "/metadata/titles/0/title", "value": "after"}]

    r = ingest_app.call("PATCH", url, json=ops, headers=patch_type)
    assert r.status_code == 428
    r = ingest_app.call("PATCH", url, json=ops, headers={**patch_type, "If-Match": '"x"'})
    assert r.status_code == 412
    r = ingest_app.call(
        "PATCH", url, json=ops, headers={"If-Match": etag, "Content-Type": "text/plain"}
    )
    assert r.status_code == 415

    r = ingest_app.call("PATCH", url, json=ops, headers={**patch_type, "If-Match": etag})
    assert r.status_code == 200, r.text
    assert r.json()["metadata"]["titles"] == [{"title": "after"}]
    etag2 = r.headers["ETag"]

    # a patch whose result is invalid stores nothing
    remove = [{"op": "remove", "path": "/metadata/titles"}]
    r = ingest_app.call("PATCH", url, json=remove, headers={**patch_type, "If-Match": etag2})
    assert r.status_code == 400
    assert r.json()["errors"][0]["field"] == "/metadata"
    # a patch that cannot apply
    bad_path = [{"op": "replace", "path": "/metadata/nothing/here", "value": 1}]
    r = ingest_app.call("PATCH", url, json=bad_path, headers={**patch_type, "If-Match": etag2})
    assert r.status_code == 400
    for garbage in (
        {"op": "replace"},
        [{"op": "dance", "path": "/x"}],
        [1],
        [{"op": "add", "path": 3}],
    ):
        r = ingest_app.call("PATCH", url, json=garbage, headers={**patch_type, "If-Match": etag2})
        assert r.status_code == 400, (garbage, r.text)
    # a failed test op
    test_op = [{"op": "test", "path": "/metadata/titles/0/title", "value": "before"}]
    r = ingest_app.call("PATCH", url, json=test_op, headers={**patch_type, "If-Match": etag2})
    assert r.status_code == 400
    assert ingest_app.get(url).headers["ETag"] == etag2
    # members the catalogue sets are read-only: a 400 naming them, nothing stored
    for member, value in (
        ("deleted", True),
        ("datestamp", "2001-01-01T00:00:00Z"),
        ("source", "x"),
    ):
        op = [{"op": "replace", "path": f"/{member}", "value": value}]
        r = ingest_app.call("PATCH", url, json=op, headers={**patch_type, "If-Match": etag2})
        assert r.status_code == 400, (member, r.text)
        assert r.json()["errors"] == [{"field": f"/{member}", "message": "read-only"}]
    assert ingest_app.get(url).headers["ETag"] == etag2
    # sets through a patch are namespaced like any other
    add_set = [{"op": "add", "path": "/sets/-", "value": "patched"}]
    r = ingest_app.call("PATCH", url, json=add_set, headers={**patch_type, "If-Match": etag2})
    assert r.status_code == 200
    assert r.json()["sets"] == ["source:local", "source:local:patched"]
    r = ingest_app.call(
        "PATCH", "/api/records/missing", json=ops, headers={**patch_type, "If-Match": "*"}
    )
    assert r.status_code == 404
    # a malformed patch is a 400 whatever the ETag: the request is wrong before it is stale
    for garbage in (
        [{"path": "/x", "value": 1}],  # no op
        [{"op": "move", "path": "/metadata/publisher"}],  # move without from
        [{"op": "add", "path": "/sets/-"}],  # add without value
        [{"op": "copy", "from": 7, "path": "/x"}],
    ):
        r = ingest_app.call("PATCH", url, json=garbage, headers={**patch_type, "If-Match": '"x"'})
        assert r.status_code == 400, (garbage, r.text)
        assert r.json()["errors"][0]["field"] == "/0"


# -- DELETE -----------------------------------------------------------------------------


def test_delete_makes_a_tombstone_410_after(ingest_app) -> None:
    created = ingest_app.create(metadata(), sets=["proj"], id="tombstoned-1")
    rid, etag = created.json()["id"], created.headers["ETag"]
    url = f"/api/records/{rid}"
    assert ingest_app.call("DELETE", url).status_code == 428
    assert ingest_app.call("DELETE", url, headers={"If-Match": '"stale"'}).status_code == 412
    r = ingest_app.call("DELETE", url, headers={"If-Match": etag})
    assert r.status_code == 204 and r.content == b""
    assert ingest_app.get(url).status_code == 410
    assert ingest_app.call("DELETE", url, headers={"If-Match": "*"}).status_code == 410
    assert (
        ingest_app.call(
            "PUT", url, json={"metadata": metadata()}, headers={"If-Match": "*"}
        ).status_code
        == 410
    )
    assert (
        ingest_app.call("DELETE", "/api/records/nothing", headers={"If-Match": "*"}).status_code
        == 404
    )
    state = ingest_app.store.get_record_state(rid)
    assert state.record.deleted and state.updated_by == "depositor-1"
    assert state.record.sets == ["source:local", "source:local:proj"]
    assert [c.op for c in ingest_app.store.changes_since(0)] == ["upsert", "delete"]
    # the id stays taken: a tombstone is still a record
    assert ingest_app.post({"id": rid, "metadata": metadata()}).status_code == 409


def test_delete_with_validate_checks_and_keeps_the_record(ingest_app) -> None:
    created = ingest_app.create(metadata(), id="kept-1")
    url, etag = "/api/records/kept-1", created.headers["ETag"]
    r = ingest_app.call("DELETE", f"{url}?validate=true", headers={"If-Match": etag})
    assert r.status_code == 200 and r.json()["valid"] is True, r.text
    stale = ingest_app.call("DELETE", f"{url}?validate=true", headers={"If-Match": '"stale"'})
    assert stale.status_code == 412
    assert ingest_app.get(url).status_code == 200
    assert not ingest_app.store.get_record("kept-1").deleted
    assert [c.op for c in ingest_app.store.changes_since(0)] == ["upsert"]


# -- search, negotiation ----------------------------------------------------------------


def test_ingested_records_are_searchable_and_deleted_ones_disappear(ingest_app) -> None:
    a = ingest_app.create(metadata("Glacier melt rates"))
    ingest_app.create(metadata("Glacier ice cores"))
    ingest_app.indexer.catch_up()
    body = ingest_app.get("/api/records", params={"q": "glacier", "source": "local"}).json()
    assert body["total"] == 2
    r = ingest_app.call(
        "DELETE", f"/api/records/{a.json()['id']}", headers={"If-Match": a.headers["ETag"]}
    )
    assert r.status_code == 204
    ingest_app.indexer.catch_up()
    body = ingest_app.get("/api/records", params={"q": "glacier"}).json()
    assert body["total"] == 1


def test_content_negotiation(ingest_app) -> None:
    created = ingest_app.create(metadata("Negotiated", doi="10.3/neg"))
    url = f"/api/records/{created.json()['id']}"
    etag = created.headers["ETag"]

    dc = ingest_app.get(url, headers={"Accept": "application/vnd.datacite.datacite+xml"})
    assert dc.status_code == 200
    assert dc.headers["Content-Type"].startswith("application/vnd.datacite.datacite+xml")
    assert validate_deposit(etree.fromstring(dc.content)) == []
    assert dc.headers["ETag"] != etag and "Accept" in dc.headers["Vary"]

    oai_dc = ingest_app.get(url, headers={"Accept": "application/x-oai-dc+xml"})
    assert oai_dc.status_code == 200
    assert validate_deposit(etree.fromstring(oai_dc.content)) == []

    ld = ingest_app.get(url, headers={"Accept": "application/ld+json"})
    assert ld.status_code == 200 and ld.json()["@context"] == "https://schema.org"
    assert ld.json()["name"] == "Negotiated"

    assert ingest_app.get(url, headers={"Accept": "text/csv"}).status_code == 406
    assert ingest_app.get(url, headers={"Accept": "*/*"}).json()["id"]
    assert ingest_app.get(url, headers={"If-None-Match": etag}).status_code == 304
    # any representation's ETag is good for If-Match
    r = ingest_app.call(
        "PUT", url, json={"metadata": metadata("x")}, headers={"If-Match": dc.headers["ETag"]}
    )
    assert r.status_code == 200


def test_get_unknown_404(ingest_app) -> None:
    r = ingest_app.get("/api/records/unknown")
    assert r.status_code == 404
    assert r.json() == {"status": 404, "message": "no record with id 'unknown'", "errors": []}


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_writes_to_a_record_need_a_token(ingest_app, method) -> None:
    r = ingest_app.call(method, "/api/records/x", token=None, headers={"If-Match": "*"})
    assert r.status_code == 401
