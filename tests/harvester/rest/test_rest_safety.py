"""Safety of REST runs: no live record tombstoned, no token leaked, no endless paging.

Each test reproduces a defect found in review (issue 8) against real local servers.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from rest_servers import (
    B2ShareApp,
    Fault,
    JsonApp,
    MetastoreApp,
    UnisApp,
    b2share_record,
    json_response,
    mdm_record,
    metastore_record,
    unis_object,
)
from werkzeug.wrappers import Request, Response

from catalogue.model import record_id
from catalogue.store import Store
from harvester.harvest import harvest_source
from harvester.http import FetchError
from harvester.rest import run as rest_run
from harvester.rest.core import RestClient

TOKEN = "se cret/+42-LMlLGmlzwo3NtDNAq"  # URL-encoded differently in queries


def mdm_config(style: str = "page", **extra) -> dict:
    paging = {
        "page": {"style": "page", "size": 100, "total_path": "total"},
        "offset": {"style": "offset", "size": 100},
    }[style]
    return {
        "records": "data.items" if style == "page" else "",
        "paging": paging,
        "id": "productId",
        "fields": {"titles": "attributes[name=title].value"},
        "defaults": {"resourceTypeGeneral": "Dataset", "publisher": "MDM test"},
        **extra,
    }


def products(n: int) -> list[dict]:
    return [mdm_record(f"p{i}", f"Product {i}") for i in range(n)]


def live(store: Store, key: str, ids) -> list[str]:
    return [i for i in ids if not store.get_record(record_id(key, i)).deleted]


# -- 1. deletion by set difference checks each candidate ---------------------------------


class _EditDuringListing:
    """B2SHARE whose record is edited while its closed time window is being paged: the
    record after it slips onto the page already read and is missing from the listing."""

    def __init__(self, app: B2ShareApp) -> None:
        self.app = app
        self.armed = False
        self.edited: str | None = None

    def __call__(self, request: Request) -> Response:
        response = self.app(request)
        q = request.args.get("q", "")
        if self.armed and self.edited is None and request.path == "/api/records/":
            hits = json.loads(response.get_data())["hits"]
            # a closed window the harvester pages through: 3 or 4 hits (with pages of 2 and
            # a result window of 5 the fifth hit is out of reach, so 5 hits are split)
            if "}" in q and request.args.get("page") == "1" and 3 <= hits["total"] <= 4:
                record = dict(self.app.records[hits["hits"][0]["id"]])
                record["updated"] = datetime.now(UTC).isoformat()
                self.app.put(record)
                self.edited = record["id"]
        return response


def test_a_record_missed_by_offset_paging_is_not_tombstoned(store: Store, api, rest_settings):
    start = datetime(2024, 1, 1)
    records = [b2share_record(n, start + timedelta(hours=n)) for n in range(12)]
    source = _EditDuringListing(B2ShareApp(records, max_result_window=5))
    server = api(source)
    cfg = {"page_size": 2, "max_result_window": 5}
    store.add_source("b2", "b2share", server.url(), config=cfg)
    assert harvest_source(store, "b2", rest_settings).counts.added == 12
    source.armed = True
    run = harvest_source(store, "b2", rest_settings, full=True)
    assert source.edited is not None, "the listing was disturbed"
    assert run.status == "succeeded", run.message
    assert run.counts.deleted == 0
    assert live(store, "b2", source.app.records) == list(source.app.records)
    checked = [p for p, _ in server.paths("/api/records/") if p != "/api/records/"]
    assert len(checked) == 1, "only the unlisted record is checked at its own URL"
    warnings = [e.reason for e in store.run_errors(run.id) if e.stage == "delete"]
    assert any("kept" in w and "still serves" in w for w in warnings)


def test_a_candidate_whose_check_fails_is_kept(store: Store, api, rest_settings):
    records = [b2share_record(n, datetime(2020, 1, 1) + timedelta(hours=n)) for n in range(6)]
    app = B2ShareApp(records)
    server = api(app)
    store.add_source("b2", "b2share", server.url(), config={})
    harvest_source(store, "b2", rest_settings)
    gone, unsure = records[1]["id"], records[2]["id"]
    app.remove(gone)
    app.remove(unsure)
    server.fail(f"/api/records/{unsure}", *[Fault(500, b"boom")] * 3)
    run = harvest_source(store, "b2", rest_settings, full=True)
    assert run.status == "succeeded", run.message
    assert run.counts.deleted == 1
    assert store.get_record(record_id("b2", gone)).deleted is True
    assert store.get_record(record_id("b2", unsure)).deleted is False
    [row] = [e for e in store.run_errors(run.id) if e.source_id == unsure]
    assert row.stage == "delete" and "HTTP 500" in row.reason and row.severity == "warning"


def test_deletion_checks_are_bounded_per_run(store: Store, api, rest_settings, monkeypatch):
    app = JsonApp(products(10), "page")
    server = api(app)
    cfg = mdm_config(record_url="/records/{id}")
    store.add_source("mdm", "json", server.url("/records"), config=cfg)
    harvest_source(store, "mdm", rest_settings)
    app.records = app.records[:7]
    monkeypatch.setattr(rest_run, "MAX_VERIFY", 2)
    run = harvest_source(store, "mdm", rest_settings, full=True)
    assert run.status == "succeeded", run.message
    assert run.counts.deleted == 2
    assert len(server.paths("/records/")) == 2
    summary = [e.reason for e in store.run_errors(run.id) if e.source_id is None]
    assert any("2 unlisted records checked" in s and "1 left" in s for s in summary)
    again = harvest_source(store, "mdm", rest_settings, full=True)
    assert again.counts.deleted == 1 and live(store, "mdm", ["p7", "p8", "p9"]) == []


def test_generic_record_url_keeps_a_record_still_served(store: Store, api, rest_settings):
    app = JsonApp(products(8), "page")
    server = api(app)
    cfg = mdm_config(record_url="/records/{id}")
    store.add_source("mdm", "json", server.url("/records"), config=cfg)
    harvest_source(store, "mdm", rest_settings)
    listed = JsonApp(app.records[:6], "page")
    server.app = lambda r: app(r) if r.path.startswith("/records/") else listed(r)
    app.records = [r for r in app.records if r["productId"] != "p7"]
    run = harvest_source(store, "mdm", rest_settings, full=True)
    assert run.status == "succeeded", run.message
    assert run.counts.deleted == 1
    assert live(store, "mdm", ["p6", "p7"]) == ["p6"]


def test_generic_without_record_url_deletes_by_set_difference(store: Store, api, rest_settings):
    app = JsonApp(products(8), "page")
    server = api(app)
    store.add_source("mdm", "json", server.url("/records"), config=mdm_config())
    harvest_source(store, "mdm", rest_settings)
    app.records = app.records[:7]
    run = harvest_source(store, "mdm", rest_settings, full=True)
    assert run.counts.deleted == 1 and server.paths("/records/") == []


def test_metastore_and_unis_candidates_are_checked(store: Store, api, rest_settings):
    entries = [
        (
            metastore_record(f"m{n}", "datacite", f"T{n}", "2024-11-25T13:50:12Z"),
            b"<x/>",
            "text/xml",
        )
        for n in range(4)
    ]
    meta = MetastoreApp(entries)
    meta_server = api(meta)
    store.add_source("ms", "metastore2", meta_server.url("/metastore"), config={"page_size": 2})
    objects = [unis_object(f"u{n}", 1_337_000_000_000_000 + n) for n in range(4)]
    unis = UnisApp(objects)
    unis_server = api(unis)
    store.add_source("unis", "unis", unis_server.url(), config={"page_size": 2})
    for key in ("ms", "unis"):
        harvest_source(store, key, rest_settings)
    listing = MetastoreApp(entries[:2])  # m2 unlisted but served, m3 gone
    meta_server.app = lambda r: meta(r) if r.path.count("/") > 4 else listing(r)
    del meta.entries["m3"]
    unis.objects = objects[:3]
    assert harvest_source(store, "ms", rest_settings, full=True).counts.deleted == 1
    assert live(store, "ms", ["m2", "m3"]) == ["m2"]
    assert harvest_source(store, "unis", rest_settings, full=True).counts.deleted == 1
    assert [p for p, _ in unis_server.paths("/metadata/")] == ["/metadata/u3"]


# -- 3. no token in error rows or run messages -------------------------------------------


def test_tokens_never_reach_error_rows_or_messages(store: Store, api, rest_settings):
    items = [*products(2), {"attributes": []}]  # the last has no id: a page warning
    server = api(lambda r: json_response({"data": {"items": items}, "total": 3}))
    auth = {"type": "query", "param": "access_token", "token": TOKEN}
    store.add_source("mdm", "json", server.url("/records"), config=mdm_config(auth=auth))
    run = harvest_source(store, "mdm", rest_settings)
    rows = store.run_errors(run.id)
    assert any("has no id" in e.reason for e in rows)
    assert all("access_token" not in e.reason and "se cret" not in e.reason for e in rows)
    assert all("se+cret" not in e.reason and "se%20cret" not in e.reason for e in rows)
    server.fail("/records", Fault(404, json.dumps({"message": f"bad {TOKEN}"}).encode()))
    failed = harvest_source(store, "mdm", rest_settings, full=True)
    assert failed.status == "failed" and "HTTP 404" in failed.message
    assert "se cret" not in failed.message and "***" in failed.message


def test_a_failing_mapping_cannot_leak_the_token(store: Store, api, rest_settings, monkeypatch):
    server = api(lambda r: json_response({"data": {"items": products(1)}, "total": 1}))
    auth = {"token": TOKEN, "header": "X-API-Key", "scheme": ""}
    store.add_source("mdm", "json", server.url("/records"), config=mdm_config(auth=auth))

    def leaky(payload, field_map):
        raise ValueError(f"cannot map with {TOKEN}")

    monkeypatch.setattr("harvester.rest.generic.from_json_record", leaky)
    run = harvest_source(store, "mdm", rest_settings)
    [row] = store.run_errors(run.id)
    assert row.stage == "map" and "***" in row.reason and TOKEN not in row.reason


# -- 4. redirects never carry the token to another host ----------------------------------


def test_a_redirect_off_host_drops_the_auth_header(api):
    other = api(lambda r: json_response({"where": "elsewhere"}), host="127.0.0.2")
    target = other.url("/steal")
    source = api(lambda r: Response(status=302, headers={"Location": target}))
    cfg = {"auth": {"token": TOKEN, "header": "X-API-Key", "scheme": ""}}
    with RestClient(source.url("/api"), {"backoff": 0.01}, cfg) as client:
        data, fetched = client.get_json(client.url("records"))
    assert data == {"where": "elsewhere"} and fetched.url.startswith(other.url())
    [(_, _, headers)] = other.requests
    assert "X-Api-Key" not in headers and TOKEN not in json.dumps(headers)
    assert source.requests[0][2]["X-Api-Key"] == TOKEN


def test_a_redirect_on_host_keeps_a_query_token_and_no_echo_goes_off_host(api):
    other = api(lambda r: json_response({"off": True}), host="127.0.0.2")

    def app(request: Request) -> Response:
        if request.path == "/old":
            return Response(status=301, headers={"Location": "/new?access_token=echoed"})
        if request.path == "/new":
            location = other.url(f"/far?access_token={request.args['access_token']}")
            return Response(status=307, headers={"Location": location})
        return json_response({}, 404)

    source = api(app)
    cfg = {"auth": {"type": "query", "token": TOKEN}}
    with RestClient(source.url(), {"backoff": 0.01}, cfg) as client:
        assert client.get_json(client.url("old"))[0] == {"off": True}
    assert [a.get("access_token") for _, a in source.paths("/")] == [TOKEN, TOKEN]
    assert other.requests[0][1] == {}


def test_redirect_loops_end(api):
    source = api(lambda r: Response(status=302, headers={"Location": "/again"}))
    with (
        RestClient(source.url(), {"backoff": 0.01}, {}) as client,
        pytest.raises(FetchError, match="redirects"),
    ):
        client.get(client.url("start"))
    assert len(source.requests) == 11


# -- 6./7. paging: capped page sizes, ignored page parameters ----------------------------


@pytest.mark.parametrize("style", ["page", "offset"])
def test_generic_paging_survives_a_capped_page_size(store: Store, api, rest_settings, style):
    server = api(JsonApp(products(120), style, size_cap=50))
    store.add_source("mdm", "json", server.url("/records"), config=mdm_config(style))
    run = harvest_source(store, "mdm", rest_settings)
    assert run.status == "succeeded", run.message
    assert run.counts.added == 120
    # page: the total ends it; offset: no total, so an empty page does
    assert len(server.paths("/records")) == (3 if style == "page" else 4)


def test_metastore_and_unis_paging_survive_capped_sizes(store: Store, api, rest_settings):
    entries = [
        (
            metastore_record(f"m{n}", "datacite", f"T{n}", "2024-11-25T13:50:12Z"),
            b"<x/>",
            "text/xml",
        )
        for n in range(7)
    ]
    meta = api(MetastoreApp(entries, size_cap=3))
    store.add_source("ms", "metastore2", meta.url("/metastore"), config={"page_size": 100})
    objects = [unis_object(f"u{n}", 1_337_000_000_000_000 + n) for n in range(7)]
    unis = api(UnisApp(objects, limit_cap=3))
    store.add_source("unis", "unis", unis.url(), config={"page_size": 100})
    assert harvest_source(store, "ms", rest_settings).counts.added == 7
    assert harvest_source(store, "unis", rest_settings).counts.added == 7


def test_an_ignored_page_parameter_fails_the_run_at_once(store: Store, api, rest_settings):
    server = api(lambda r: json_response({"data": {"items": products(10)}}))
    cfg = mdm_config(paging={"style": "page", "size": 10, "page_param": "p"})
    store.add_source("mdm", "json", server.url("/records"), config=cfg)
    run = harvest_source(store, "mdm", rest_settings)
    assert run.status == "failed"
    assert "same 10 records" in run.message and "paging parameter" in run.message
    assert len(server.requests) <= 3


# -- 8. set names the store cannot keep --------------------------------------------------


def test_bad_and_overlong_sets_are_dropped_with_a_warning(store: Store, api, rest_settings):
    items = products(3)
    items[0]["tags"] = ["geo", "x" * 250]
    items[1]["tags"] = ["has space", "ok:nested"]
    server = api(lambda r: json_response({"data": {"items": items}, "total": 3}))
    store.add_source("mdm", "json", server.url("/records"), config=mdm_config(sets="tags"))
    run = harvest_source(store, "mdm", rest_settings)
    assert run.status == "succeeded", run.message
    assert run.counts.added == 3
    assert store.get_record(record_id("mdm", "p0")).sets == ["source:mdm", "source:mdm:geo"]
    assert store.get_record(record_id("mdm", "p1")).sets == ["source:mdm", "source:mdm:ok:nested"]
    dropped = [e for e in store.run_errors(run.id) if "dropped" in e.reason]
    assert [(e.source_id, e.severity) for e in dropped] == [("p0", "warning"), ("p1", "warning")]


# -- 11. the deletion safety valve and small sources -------------------------------------


def test_a_small_source_can_delete_a_record(store: Store, api, rest_settings):
    app = JsonApp(products(4), "page")
    server = api(app)
    store.add_source("mdm", "json", server.url("/records"), config=mdm_config())
    harvest_source(store, "mdm", rest_settings)
    app.records = app.records[:3]  # 25% of the source, but only one record
    run = harvest_source(store, "mdm", rest_settings, full=True)
    assert run.status == "succeeded", run.message
    assert run.counts.deleted == 1


def test_the_valve_still_guards_beyond_the_minimum(store: Store, api, rest_settings):
    app = JsonApp(products(20), "page")
    server = api(app)
    store.add_source("mdm", "json", server.url("/records"), config=mdm_config())
    harvest_source(store, "mdm", rest_settings)
    app.records = app.records[:14]  # six records, 30%
    run = harvest_source(store, "mdm", rest_settings, full=True)
    assert run.status == "failed" and "safety valve" in run.message
    assert store.count_records("mdm") == 20
