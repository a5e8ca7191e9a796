"""The command line as an admin meets it: sources with schedules, edits that keep records,
runs and their errors, --check, --version."""

from __future__ import annotations

from catalogue.store import Store


def test_version(cli) -> None:
    proc = cli("--version")
    assert proc.stdout.startswith("catalogue, version ")


def test_add_with_schedule_and_check_then_edit_without_touching_records(
    cli, store: Store, serve, small_repo
) -> None:
    server = serve({"/oai": small_repo})
    url = f"{server.base_url}/oai"
    added = cli("sources", "add", "small", url, "--schedule", "every  6H", "--check")
    assert "check: Small test repository" in added.stderr
    assert store.get_source("small").schedule == "every 6h"
    cli("harvest", "small")
    assert store.count_records("small") == 9
    before = {r.id: r.datestamp for r in store.iter_records()}

    edited = cli("sources", "edit", "small", "--set", "even", "--schedule", "0 3 * * *",
                 "--disabled")  # fmt: skip
    assert "full harvest" in edited.stderr
    source = store.get_source("small")
    assert (source.sets, source.schedule, source.enabled) == (["even"], "0 3 * * *", False)
    assert source.harvest_from is None
    assert store.count_records("small") == 9  # no record touched
    assert {r.id: r.datestamp for r in store.iter_records()} == before
    cli("sources", "edit", "small", "--all-sets", "--schedule", "none", "--enabled")
    source = store.get_source("small")
    assert (source.sets, source.schedule, source.enabled) == ([], None, True)
    listing = cli("sources", "list").stdout
    assert "manual" in listing


def test_bad_input_is_refused_in_one_line(cli, store: Store) -> None:
    bad = cli("sources", "add", "x", "http://127.0.0.1:9/oai", "--schedule", "daily", check=False)
    assert bad.returncode == 2 and "--schedule" in bad.stderr
    refused = cli("sources", "add", "x", "http://127.0.0.1:9/oai", "--check", check=False)
    assert refused.returncode == 1 and "check failed" in refused.stderr
    assert store.get_source("x") is None
    assert cli("sources", "edit", "nosuch", "--disabled", check=False).returncode == 1
    cli("sources", "add", "x", "http://127.0.0.1:9/oai")
    assert cli("sources", "edit", "x", check=False).returncode == 2  # nothing to change
    assert cli("sources", "edit", "x", "--set", "bad set", check=False).returncode == 2


def test_runs_lists_runs_and_shows_a_runs_errors(cli, store: Store, serve, small_repo, make_record):
    from datetime import datetime

    small_repo.add("oai_dc", make_record("oai:test:bad", datetime(2020, 2, 1), payload="<x/>"))
    server = serve({"/oai": small_repo})
    cli("sources", "add", "small", f"{server.base_url}/oai")
    cli("harvest", "small", check=False)
    [run] = store.list_runs("small")
    listing = cli("runs", "small").stdout
    assert str(run.id) in listing and run.status in listing
    detail = cli("runs", "small", str(run.id)).stdout
    assert f"run {run.id} of small" in detail
    assert "oai:test:bad" in detail and "map" in detail
    assert cli("runs", "small", "999999", check=False).returncode == 1
    assert cli("runs", "nosuch", check=False).returncode == 1


def test_one_line_errors_for_a_dead_source_an_html_page_and_a_wrong_b2share_url(serve) -> None:
    from harvester.probe import probe_source

    server = serve()
    html = b"<!DOCTYPE html>\n<html><head><title>Repository</title></head><body></body></html>"
    server.intercept = lambda path, query: (
        (200, {"Content-Type": "text/html"}, html) if path == "/home" else None
    )
    fast = {"timeout": 5, "max_retries": 1, "backoff": 0.01}
    dead = probe_source("oai", "http://127.0.0.1:9/oai", fast)
    assert dead.error == "connection refused from http://127.0.0.1:9/oai (after 1 retries)"
    page = probe_source("oai", server.url("/home"), fast)
    assert page.error.startswith("this is an HTML page, not an OAI-PMH endpoint")
    assert "\n" not in page.error
    b2 = probe_source("b2share", server.url("/zenodo/oai"), fast)
    assert b2.error.startswith("no B2SHARE API here")
    nowhere = probe_source("oai", "http://nosuch.invalid/oai", {**fast, "max_retries": 5})
    assert nowhere.error.startswith("host not found")


def test_harvest_all_runs_sources_side_by_side_and_ends_with_a_table(cli, serve, small_repo):
    server = serve({"/oai": small_repo})
    cli("sources", "add", "good", f"{server.base_url}/oai")
    cli("sources", "add", "dead", "http://127.0.0.1:9/oai")
    cli.env["CATALOGUE_HARVEST_BACKOFF"] = "0.01"
    proc = cli("harvest", "--all", check=False)
    assert proc.returncode == 1
    rows = {line.split("│")[1].strip(): line for line in proc.stdout.splitlines() if "│" in line}
    assert "succeeded" in rows["good"] and "failed" in rows["dead"]
    assert "connection refused" in rows["dead"]
    assert "another indexer" not in proc.stderr
    assert proc.stderr.count("retry 1/") == 1  # one brief line per attempt
