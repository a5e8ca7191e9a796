"""The admin API of sources and runs over HTTP: create, read, edit, pause, remove, harvest
now (202, a run that starts within seconds, 409 meanwhile), probe; and the refusals."""

from __future__ import annotations

import time

import pytest
import requests

from catalogue.store import SourceHeld


def test_refusals_without_admin_token(admin_app) -> None:
    admin_app.store.add_source("s", "oai", "http://127.0.0.1:9/oai")
    calls = [
        ("POST", "/api/sources", {"json": {"key": "k", "url": "http://127.0.0.1:9/"}}),
        ("GET", "/api/sources/s", {}),
        ("PATCH", "/api/sources/s", {"json": {"enabled": False}}),
        ("DELETE", "/api/sources/s", {}),
        ("POST", "/api/sources/s/runs", {"json": {"mode": "full"}}),
        ("GET", "/api/sources/s/runs/1", {}),
        ("POST", "/api/sources/probe", {"json": {"url": "http://127.0.0.1:9/"}}),
    ]
    for method, path, kw in calls:
        none = admin_app.call(method, path, token=None, **kw)
        assert none.status_code == 401, (method, path)
        assert none.headers["WWW-Authenticate"].startswith("Bearer")
        for role in ("depositor", "reader"):
            assert admin_app.call(method, path, token=role, **kw).status_code == 403
        bogus = admin_app.call(method, path, token="cat_nonsense", **kw)
        assert bogus.status_code == 401
    assert admin_app.store.get_source("s").enabled
    assert admin_app.store.get_source("k") is None


def test_create_names_each_bad_field(admin_app) -> None:
    bad = admin_app.call(
        "POST",
        "/api/sources",
        json={
            "key": "bad key!",
            "url": "ftp://example.org/",
            "type": "nosuch",
            "schedule": "daily",
            "sets": ["a b"],
            "colour": "red",
        },
    )
    assert bad.status_code == 400
    fields = {e["field"] for e in bad.json()["errors"]}
    assert fields == {"/key", "/url", "/type", "/schedule", "/sets", "/colour"}
    config = admin_app.call(
        "POST",
        "/api/sources",
        json={"key": "b2", "url": "http://127.0.0.1:9/", "type": "b2share", "config": {"x": 1}},
    )
    assert config.status_code == 400
    assert [e["field"] for e in config.json()["errors"]] == ["/config"]
    assert admin_app.call("POST", "/api/sources", json=["x"]).status_code == 400
    assert admin_app.call("POST", "/api/sources", data="{", headers={
        "Content-Type": "application/json"}).status_code == 400  # fmt: skip
    assert admin_app.call("POST", "/api/sources", data="key=x").status_code == 415
    assert admin_app.call("POST", "/api/sources", json={"key": "local", "url": "http://a.b/"}
                          ).status_code == 400  # fmt: skip
    assert admin_app.store.list_sources() == []


def test_source_lifecycle_and_harvest_now(admin_app, oai_server) -> None:
    url = f"{oai_server.base_url}/oai"
    created = admin_app.call(
        "POST",
        "/api/sources",
        json={"key": "lakes", "url": url, "schedule": "0 3 * * *",
              "config": {"auth": {"type": "header", "header": "X-Key", "token": "s3cret"}}},
    )  # fmt: skip
    assert created.status_code == 201, created.text
    assert created.headers["Location"] == "/api/sources/lakes"
    body = created.json()
    assert body["schedule"] == "0 3 * * *" and body["enabled"] is True
    assert "s3cret" not in created.text
    assert admin_app.call("POST", "/api/sources", json={"key": "lakes", "url": url}
                          ).status_code == 409  # fmt: skip
    got = admin_app.call("GET", "/api/sources/lakes")
    assert got.status_code == 200 and got.json()["key"] == "lakes" and "s3cret" not in got.text
    drop_auth = admin_app.call("PATCH", "/api/sources/lakes", json={"config": {}})
    assert drop_auth.status_code == 200

    started = time.monotonic()
    run = admin_app.call("POST", "/api/sources/lakes/runs", json={"mode": "full"})
    assert run.status_code == 202, run.text
    location = run.headers["Location"]
    assert location == f"/api/sources/lakes/runs/{run.json()['id']}"
    assert run.json()["status"] in ("queued", "running")
    again = admin_app.call("POST", "/api/sources/lakes/runs", json={"mode": "incremental"})
    assert again.status_code == 409
    done = admin_app.wait_run(location)
    assert time.monotonic() - started < 20
    assert done["status"] == "succeeded", done
    assert done["counts"]["added"] == 6 and done["counts"]["failed"] == 1
    assert done["errors_total"] >= 1
    assert any(e["source_id"] == "oai:adm:bad0" and e["stage"] == "map" for e in done["errors"])
    assert admin_app.store.count_records("lakes") == 6

    paused = admin_app.call("PATCH", "/api/sources/lakes", json={"enabled": False, "sets": ["all"]})
    assert paused.status_code == 200 and paused.json()["enabled"] is False
    assert paused.json()["sets"] == ["all"] and paused.json()["next_run"] is None
    assert admin_app.store.count_records("lakes") == 6  # pausing and editing keep the records
    assert admin_app.call("PATCH", "/api/sources/lakes", json={"key": "other"}).status_code == 400
    bad = admin_app.call("PATCH", "/api/sources/lakes", json={"enabled": "no", "url": "x"})
    assert {e["field"] for e in bad.json()["errors"]} == {"/enabled", "/url"}
    assert admin_app.call("GET", "/api/sources/lakes/runs/999999").status_code == 404
    for run_id in ("³", "1" * 19, "-1", "1.0"):  # "³".isdigit(), but int("³") fails
        assert admin_app.call("GET", f"/api/sources/lakes/runs/{run_id}").status_code == 404
    assert admin_app.call("GET", "/api/sources/nosuch").status_code == 404
    assert admin_app.call("POST", "/api/sources/nosuch/runs", json={}).status_code == 404
    assert admin_app.call("POST", "/api/sources/lakes/runs", json={"mode": "x"}).status_code == 400

    removed = admin_app.call("DELETE", "/api/sources/lakes")
    assert removed.status_code == 200 and removed.json() == {"key": "lakes", "records_deleted": 6}
    assert admin_app.store.count_records("lakes") == 0
    assert admin_app.call("GET", "/api/sources/lakes").status_code == 404


def test_a_failing_run_reports_failed_with_its_message(admin_app) -> None:
    admin_app.store.add_source("dead", "oai", "http://127.0.0.1:9/oai")
    run = admin_app.call("POST", "/api/sources/dead/runs")
    assert run.status_code == 202
    done = admin_app.wait_run(run.headers["Location"])
    assert done["status"] == "failed" and done["message"]


@pytest.mark.parametrize("kind", ["oai", "b2share"])
def test_probe_reports_without_saving(admin_app, oai_server, kind) -> None:
    if kind == "oai":
        answer = admin_app.call("POST", "/api/sources/probe",
                                json={"url": f"{oai_server.base_url}/oai"})  # fmt: skip
        assert answer.status_code == 200
        body = answer.json()
        assert body["ok"] is True and body["repository_name"] == "Admin test repository"
        assert [f["prefix"] for f in body["metadata_formats"]] == ["oai_dc"]
        assert body["suggested_prefix"] == "oai_dc"
    else:
        answer = admin_app.call(
            "POST",
            "/api/sources/probe",
            json={"url": f"{oai_server.base_url}/b2share/", "type": "b2share"},
        )
        body = answer.json()
        assert answer.status_code == 200 and body["ok"] is True
        assert body["total_records"] > 0 and body["sample"][0]["id"]
    dead = admin_app.call("POST", "/api/sources/probe",
                          json={"url": "http://127.0.0.1:9/oai", "type": kind}).json()  # fmt: skip
    assert dead["ok"] is False and dead["error"]
    bad = admin_app.call("POST", "/api/sources/probe", json={"url": "gopher://x", "key": "k"})
    assert bad.status_code == 400
    assert {e["field"] for e in bad.json()["errors"]} == {"/url", "/key"}
    assert admin_app.store.list_sources() == []


def test_a_running_run_shows_its_counts_so_far(admin_app, oai_server) -> None:
    def slow(path, query):
        if query.get("verb") == ["ListRecords"]:
            time.sleep(1.5)
        return None

    oai_server.intercept = slow
    admin_app.store.add_source("slow", "oai", f"{oai_server.base_url}/oai")
    location = admin_app.call("POST", "/api/sources/slow/runs").headers["Location"]
    seen_running_with_counts = False
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        run = admin_app.call("GET", location).json()
        if run["status"] == "running" and run["counts"]["added"] > 0:
            seen_running_with_counts = True
        if run["status"] in ("succeeded", "failed"):
            break
        time.sleep(0.2)
    assert run["status"] == "succeeded" and run["counts"]["added"] == 6
    assert seen_running_with_counts


def test_config_numbers_and_host_names_a_run_cannot_use_are_refused(admin_app) -> None:
    """Numbers past a float's range (JSON allows 1e400; SQLite kept Infinity, PostgreSQL
    answered 500), waits without bound and host names with empty labels are 400s naming
    the field, at registration and at probe, and nothing is stored."""
    url = "http://127.0.0.1:9/oai"
    cases = [
        (f'{{"key": "n1", "url": "{url}", "config": {{"timeout": 1e400}}}}', "/config/timeout"),
        (f'{{"key": "n2", "url": "{url}", "config": {{"timeout": 1e300}}}}', "/config"),
        (f'{{"key": "n3", "url": "{url}", "config": {{"rate_limit": 1e-6}}}}', "/config"),
        ('{"key": "n4", "url": "http://a..b/oai"}', "/url"),
    ]
    for body, field in cases:
        for path in ("/api/sources", "/api/sources/probe"):
            r = admin_app.call(
                "POST", path, data=body, headers={"Content-Type": "application/json"}
            )
            assert r.status_code == 400, (path, body, r.text)
            assert field in [e["field"] for e in r.json()["errors"]], (path, r.text)
    assert admin_app.store.list_sources() == []


def test_a_source_is_not_removed_while_a_run_holds_it(admin_app) -> None:
    store = admin_app.store
    store.add_source("busy", "oai", "http://127.0.0.1:9/oai")
    lease = store.claim_lease("busy")  # as a run of this source in progress does
    try:
        assert admin_app.call("DELETE", "/api/sources/busy").status_code == 409
        with pytest.raises(SourceHeld):
            store.remove_idle_source("busy")
        assert store.get_source("busy") is not None
    finally:
        store.release_lease(lease)
    assert admin_app.call("DELETE", "/api/sources/busy").status_code == 200
    assert store.get_source("busy") is None


def test_runs_page_on_with_links_next(admin_app) -> None:
    """The run list pages (it gave the 50 newest whatever was asked) and refuses what it
    does not know, as every admin endpoint does."""
    store = admin_app.store
    store.add_source("many", "oai", "http://127.0.0.1:9/oai")
    made = sorted((store.queue_run("many", "full") for _ in range(7)), reverse=True)
    seen: list[int] = []
    url: str | None = admin_app.url + "/api/sources/many/runs?size=3"
    while url:
        r = requests.get(url, timeout=10)
        assert r.status_code == 200, r.text
        seen += [run["id"] for run in r.json()["runs"]]
        url = r.json()["links"].get("next")
    assert seen == made
    for query in ("size=0", "size=201", "size=³", "before=abc", "before=0", "limit=5"):
        r = requests.get(admin_app.url + "/api/sources/many/runs?" + query, timeout=10)
        assert r.status_code == 400, (query, r.text)
