"""Several processes: `catalogue serve --workers N` (gunicorn workers, the indexer in a
process of its own), and the cluster backend driven by the real commands (reindex, two
indexers on one search index). Several harvest workers and indexers on one store:
tests/test_several_workers.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from osmem_server import OsmemServer

from tests.search.cluster_support import unique_alias
from tests.test_end_to_end import free_port, wait_for

RECORD = {
    "metadata": {
        "titles": [{"title": "Workers deposit test"}],
        "creators": [{"name": "Doe, Jane"}],
        "publisher": "Example",
        "publicationYear": 2024,
        "types": {"resourceTypeGeneral": "Dataset"},
    }
}


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found += [int(c) for c in text]
    return found


def start(cli, *args: str, ready: str = "/api/records?size=0") -> tuple[subprocess.Popen, str]:
    """`catalogue serve` with ``args``, once ``ready`` answers with a JSON body (search
    answers a total)."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "catalogue", "serve", "--port", str(port), *args],
        env=cli.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    wait_for(url + ready, lambda body: "total" in body or ready != "/api/records?size=0")
    return server, url


def test_serve_with_workers_deposits_and_searches(cli) -> None:
    token = cli("tokens", "create", "--role", "depositor").stdout.strip()
    server, url = start(cli, "--workers", "2", "--threads", "4")
    try:
        # gunicorn's master has 2 workers and serve's indexer as children
        assert len(children(server.pid)) >= 3
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        for _ in range(6):  # spread over the workers
            created = requests.post(
                url + "/api/records", data=json.dumps(RECORD), headers=headers, timeout=10
            )
            assert created.status_code == 201, created.text
        found = wait_for(url + "/api/records?q=workers+deposit", lambda b: b["total"] == 6)
        assert {h["metadata"]["titles"][0]["title"] for h in found["hits"]} == {
            "Workers deposit test"
        }
    finally:
        server.terminate()
        server.wait(20)
    assert server.returncode == 0, server.stderr.read() if server.stderr else ""


def test_workers_must_be_positive(cli) -> None:
    bad = cli("serve", "--workers", "0", check=False)
    assert bad.returncode != 0 and "--workers" in bad.stderr


@pytest.mark.parametrize("command", ["serve", "demo"])
@pytest.mark.parametrize("port", ["99999", "-1", "0"])
def test_a_port_out_of_range_is_one_line(cli, command: str, port: str) -> None:
    # 99999 listened on 34463 (its value mod 65536) while saying 99999; -1 was a traceback
    bad = cli(command, "--port", port, check=False)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert "'--port'" in bad.stderr and "1<=x<=65535" in bad.stderr


@pytest.fixture
def cluster_cli(cli, request: pytest.FixtureRequest):
    real = os.environ.get("CATALOGUE_TEST_SEARCH_URL")
    url = real or f"opensearch+{request.getfixturevalue('osmem_url')}"
    cli.env.update(CATALOGUE_SEARCH_URL=url, CATALOGUE_SEARCH_INDEX_ALIAS=unique_alias())
    return cli


def test_reindex_and_two_indexers_on_a_cluster(cluster_cli, replay) -> None:
    cli = cluster_cli
    cli("sources", "add", "zenodo", f"{replay}/zenodo/oai", "--prefix", "oai_dc")
    assert "zenodo: succeeded added 104" in cli("harvest", "zenodo").stderr
    first = cli("reindex")
    assert "reindexed 104 records" in first.stderr
    indexer = subprocess.Popen(
        [sys.executable, "-m", "catalogue", "indexer"],
        env=cli.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(3)
        second = cli("indexer", check=False)  # the lease is held: it must not apply anything
        assert second.returncode != 0 and "held by another indexer" in second.stderr
        locked = cli("reindex", check=False)
        assert locked.returncode != 0
    finally:
        indexer.terminate()
        indexer.wait(20)
    server, url = start(cli, "--no-indexer")
    try:
        body = requests.get(url + "/api/records", params={"size": 0}, timeout=10).json()
        assert body["total"] == 104
        assert sum(b["count"] for b in body["aggregations"]["source"]) == 104
    finally:
        server.terminate()
        server.wait(20)


@pytest.fixture
def replay():
    from catalogue.demo.replay import start_replay_server, stop_replay_server

    server, base_url = start_replay_server(page_size=20)
    yield base_url
    stop_replay_server(server)


def test_serve_starts_before_its_search_cluster_and_indexes_once_it_is_up(cli) -> None:
    """A deployment may start the catalogue before its cluster (compose starts them side by
    side). On a fresh store `serve` starts anyway: search answers 503 with Retry-After,
    OAI-PMH and deposits work, and its indexer reaches the cluster once it is up. The
    one-off `reindex` says in one line that the cluster cannot be reached, and `catalogue
    indexer` waits for it."""
    port = free_port()
    cli.env.update(
        CATALOGUE_SEARCH_URL=f"opensearch+http://127.0.0.1:{port}",
        CATALOGUE_SEARCH_INDEX_ALIAS=unique_alias(),
    )
    down = cli("reindex", check=False)
    assert down.returncode == 1, down.stderr
    assert "Traceback" not in down.stderr and "search engine unavailable" in down.stderr
    waiting = subprocess.Popen(
        [sys.executable, "-m", "catalogue", "indexer"], env=cli.env, stderr=subprocess.PIPE
    )
    try:  # a long-running indexer waits for the cluster, saying so once
        said = waiting.stderr.readline().decode()
        assert "search engine unavailable" in said and "trying again" in said
    finally:
        waiting.terminate()
    assert waiting.wait(20) == 0 and b"Traceback" not in waiting.stderr.read()
    token = cli("tokens", "create", "--role", "depositor").stdout.strip()
    server, url = start(cli, ready="/health")
    cluster = None
    try:
        search = requests.get(url + "/api/records", params={"q": "workers"}, timeout=10)
        assert search.status_code == 503 and int(search.headers["Retry-After"]) > 0
        oai = requests.get(url + "/oai", params={"verb": "Identify"}, timeout=10)
        assert oai.status_code == 200 and b"<Identify>" in oai.content
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        created = requests.post(
            url + "/api/records", data=json.dumps(RECORD), headers=headers, timeout=10
        )
        assert created.status_code == 201, created.text
        cluster = OsmemServer.start(addr=f"127.0.0.1:{port}")
        found = wait_for(url + "/api/records?q=workers+deposit", lambda b: b.get("total"), 60)
        assert [h["id"] for h in found["hits"]] == [created.json()["id"]]
    finally:
        server.terminate()
        server.wait(20)
        if cluster is not None:
            cluster.close()
    assert server.returncode == 0
    assert "Traceback" not in server.stderr.read()


def test_serve_stopped_with_its_process_group_leaves_the_cluster_to_the_next_one(
    cluster_cli,
) -> None:
    """A service manager stops `serve` with SIGTERM to its whole process group. Its indexer
    releases the cluster's lease on the way out, so the next `serve` indexes at once (the
    lease left held kept the next one read-only, its deposits never searchable)."""
    import signal

    cli = cluster_cli
    token = cli("tokens", "create", "--role", "depositor").stdout.strip()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    for attempt in range(2):
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "catalogue", "serve", "--port", str(port)],
            env=cli.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_for(url + "/api/records?size=0", lambda body: "total" in body, 30)
            record = json.loads(json.dumps(RECORD))
            record["metadata"]["titles"] = [{"title": f"Group stop deposit {attempt}"}]
            created = requests.post(
                url + "/api/records", data=json.dumps(record), headers=headers, timeout=10
            )
            assert created.status_code == 201, created.text
            wait_for(
                url + "/api/records?q=group+stop+deposit",
                lambda b, n=attempt + 1: b.get("total") == n,
                30,
            )
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(30)
        assert "Traceback" not in server.stderr.read()


def test_a_cluster_that_refuses_the_client_is_one_line(cli, osmem_url: str) -> None:
    """osmem answers the elasticsearch 9 client's media type with 406, as a cluster of
    another major version would: every command says so in one line, with what to check."""
    cli.env.update(
        CATALOGUE_SEARCH_URL=f"elasticsearch+{osmem_url}",
        CATALOGUE_SEARCH_INDEX_ALIAS=unique_alias(),
    )
    for command in (["reindex"], ["serve", "--port", str(free_port())]):
        refused = cli(*command, check=False)
        assert refused.returncode == 1 and "Traceback" not in refused.stderr, refused.stderr
        assert "406" in refused.stderr and "opensearch+" in refused.stderr.splitlines()[-1]
