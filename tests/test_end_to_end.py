"""One real record end to end, through the real commands: register a source, harvest recorded
Zenodo responses over HTTP, serve the app, find the records through the search API."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from catalogue.demo.replay import start_replay_server, stop_replay_server


@pytest.fixture(scope="module")
def replay() -> Iterator[str]:
    server, base_url = start_replay_server(page_size=20)
    yield base_url
    stop_replay_server(server)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, predicate, timeout: float = 20.0) -> dict:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = requests.get(url, timeout=5).json()
            if predicate(last):
                return last
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} never satisfied the condition; last answer: {last}")


def start_serve(cli, port: int, stderr: int = subprocess.DEVNULL) -> subprocess.Popen:
    """`catalogue serve` on ``port`` with the test's data dir and store."""
    return subprocess.Popen(
        [sys.executable, "-m", "catalogue", "serve", "--port", str(port)],
        env=cli.env,
        stdout=subprocess.DEVNULL,
        stderr=stderr,
        text=True,
    )


def test_harvest_serve_and_search(cli, replay) -> None:
    cli("sources", "add", "zenodo", f"{replay}/zenodo/oai", "--prefix", "oai_dc")
    first = cli("harvest", "zenodo")
    assert "zenodo: succeeded added 104" in first.stderr
    incremental = cli("harvest", "zenodo")
    assert "added 0, updated 0, unchanged 0," in incremental.stderr, "nothing newer upstream"
    again = cli("harvest", "zenodo", "--full")
    assert "added 0, updated 0, unchanged 104" in again.stderr
    listing = cli("sources", "list").stdout
    assert "zenodo" in listing and "104" in listing

    port = free_port()
    server = start_serve(cli, port, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        body = wait_for(f"{base}/api/records?size=5", lambda b: b.get("total") == 104)
        assert {b["key"] for b in body["aggregations"]["source"]} == {"zenodo"}
        types = {b["key"]: b["count"] for b in body["aggregations"]["type"]}
        assert sum(types.values()) == 104 and len(types) > 1

        # A record we know is in the recorded Zenodo page: find it by a title word.
        hit = requests.get(f"{base}/api/records", params={"q": "Oxytricha"}, timeout=5).json()
        assert hit["total"] >= 1
        record = hit["hits"][0]
        assert record["source_id"].startswith("oai:zenodo.org:")
        full = requests.get(record["links"]["self"], timeout=5).json()
        assert full["metadata"]["titles"] == record["metadata"]["titles"]
        dois = [i for i in full["metadata"]["identifiers"] if i["identifierType"] == "DOI"]
        assert dois and dois[0]["identifier"].startswith("10.5281/zenodo.")

        # The same record through the pages: the search page links its landing page.
        page = requests.get(f"{base}/search", params={"q": "Oxytricha"}, timeout=5)
        assert page.status_code == 200 and f'href="/records/{record["id"]}"' in page.text
        landing = requests.get(f"{base}/records/{record['id']}", timeout=5)
        assert landing.status_code == 200 and "application/ld+json" in landing.text

        # Removing the source while serving: serve's indexer (a child process) drops them.
        cli("sources", "remove", "zenodo")
        wait_for(f"{base}/api/records?size=1", lambda b: b.get("total") == 0)
    finally:
        server.terminate()
        server.wait(10)


def test_serve_after_an_upgrade_rebuilds_an_index_of_another_schema(cli, replay) -> None:
    """A release whose index schema changed: serve starts, searches answer 503 "being
    rebuilt" (never a 500, never a partial result) until its indexer has rebuilt the index."""
    import json

    from catalogue.config import load_settings
    from catalogue.search.embedded import META_FILE

    cli("sources", "add", "zenodo", f"{replay}/zenodo/oai", "--prefix", "oai_dc")
    cli("harvest", "zenodo")
    meta_file = Path(load_settings(env=cli.env).index_dir) / META_FILE
    meta = json.loads(meta_file.read_text())
    meta_file.write_text(json.dumps({**meta, "schema_version": meta["schema_version"] - 1}))
    port = free_port()
    server = start_serve(cli, port)
    answers = []
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                r = requests.get(f"http://127.0.0.1:{port}/api/records?size=1", timeout=5)
            except requests.ConnectionError:
                time.sleep(0.2)
                continue
            answers.append(r.status_code)
            if r.status_code == 503:
                assert "rebuilt" in r.json()["message"] and r.headers["Retry-After"]
            else:
                assert r.status_code == 200 and r.json()["total"] == 104, r.text[:300]
                break
            assert time.monotonic() < deadline, f"never rebuilt: {answers}"
            time.sleep(0.2)
    finally:
        server.terminate()
        server.wait(10)
    assert json.loads(meta_file.read_text())["schema_version"] == meta["schema_version"]


def test_the_indexer_of_a_killed_server_exits_and_frees_the_index(cli, tmp_path) -> None:
    """serve runs its indexer in a child process; if serve is killed outright, the child
    notices and exits, so the next serve (or `catalogue indexer`) gets the writer lock."""
    from catalogue.config import load_settings
    from catalogue.search.indexer import writer_is_free

    cli("reindex")  # creates the index
    port = free_port()
    server = start_serve(cli, port)
    settings = load_settings(env=cli.env)
    try:
        wait_for(f"http://127.0.0.1:{port}/api/records?size=0", lambda b: "total" in b)
        # generous: on a loaded 2-core machine the child's start-up (imports, migration
        # check, opening the index) has taken over 15 s
        deadline = time.monotonic() + 90
        while writer_is_free(settings):  # the child needs a moment to start
            assert time.monotonic() < deadline, "serve's indexer never took the writer"
            time.sleep(0.5)  # rarely: each probe holds the lock for an instant
    finally:
        server.kill()
        server.wait(10)
    deadline = time.monotonic() + 60
    while not writer_is_free(settings):
        assert time.monotonic() < deadline, "the orphaned indexer kept the writer lock"
        time.sleep(0.2)


def test_failed_harvest_exits_non_zero(cli) -> None:
    port = free_port()  # nothing listens there
    cli("sources", "add", "dead", f"http://127.0.0.1:{port}/oai", "--prefix", "oai_dc")
    cli.env["CATALOGUE_HARVEST_MAX_RETRIES"] = "1"
    cli.env["CATALOGUE_HARVEST_BACKOFF"] = "0.01"
    proc = cli("harvest", "dead", check=False)
    assert proc.returncode != 0
    assert "dead: failed" in proc.stderr
    assert cli("harvest", "nosuch", check=False).returncode != 0
    assert cli("harvest", check=False).returncode != 0


def test_bad_source_arguments_are_refused(cli) -> None:
    assert cli("sources", "add", "bad key", "http://x/oai", check=False).returncode != 0
    assert cli("sources", "add", "k", "file:///etc/passwd", check=False).returncode != 0
    local = cli("sources", "add", "local", "http://example.org/oai", check=False)
    assert local.returncode != 0 and "reserved" in local.stderr
    cli("sources", "add", "k", "http://example.org/oai")
    dup = cli("sources", "add", "k", "http://example.org/oai", check=False)
    assert dup.returncode != 0 and "already exists" in dup.stderr


def test_demo_harvests_every_replayed_source_and_indexes_them(cli) -> None:
    first = cli("demo", "--no-serve")
    assert "215 records harvested" in first.stderr
    assert first.stderr.count(": succeeded") == 6
    assert "b2share: succeeded added 10" in first.stderr, "REST sources are in the demo too"
    again = cli("demo", "--no-serve")  # a second run is incremental and changes nothing
    assert "added 0, updated 0" in again.stderr and ": failed" not in again.stderr
    count = cli("reindex")
    assert "reindexed 215 records" in count.stderr
