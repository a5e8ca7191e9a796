"""Crashes and signals: `catalogue harvest` killed with SIGKILL at seeded random moments
against the fault-injecting server, each kill followed by a rerun that must end with exactly
the source's records, each once, no run left "running", and start from the checkpoint;
SIGTERM to `harvest` and `serve` stops them within seconds, children included."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from sqlalchemy import select

from catalogue.store import Store, create_store_engine
from catalogue.tables import HarvestRunRow, RecordRow
from harvester.checkpoints import Checkpoint
from harvester.rest.registry import validate_config
from tests.faults.oai_faults import Fault
from tests.faults.rest_faults import CONFIG as REST_CONFIG
from tests.faults.rest_faults import RestFaultServer

KILLS = int(os.environ.get("CATALOGUE_TEST_KILLS", "20"))
SEED = 20261126


def catalogue(env: dict, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "catalogue", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def source_ids(store: Store, key: str) -> list[str]:
    with store.engine.connect() as conn:
        return sorted(
            conn.execute(select(RecordRow.source_id).where(RecordRow.source == key)).scalars()
        )


def statuses(store: Store, key: str) -> list[str]:
    with store.engine.connect() as conn:
        return list(
            conn.execute(select(HarvestRunRow.status).where(HarvestRunRow.source == key)).scalars()
        )


@pytest.fixture
def env(tmp_path: Path) -> dict:
    values = dict(
        os.environ,
        CATALOGUE_DATA_DIR=str(tmp_path),
        CATALOGUE_HARVEST_BACKOFF="0.01",
        CATALOGUE_HARVEST_MAX_RETRIES="4",
        CATALOGUE_HARVEST_TIMEOUT="2",
        CATALOGUE_HARVEST_RESPONSE_TIMEOUT="5",
    )
    values.pop("CATALOGUE_CONFIG", None)
    values.pop("CATALOGUE_DATABASE_URL", None)
    return values


def kill_and_rerun(
    env, store, server, key, n_kills, left, expected, seed, max_seconds, min_seconds=0.0
) -> dict:
    """The kill loop shared by the OAI-PMH and REST tests; returns its figures.
    ``left(checkpoint)``: the requests a rerun from that checkpoint needs without faults."""
    rng = random.Random(seed)
    figures = {"kills": 0, "reruns": 0, "resumed": 0, "lost": 0, "duplicates": 0,
               "requests_saved": 0}  # fmt: skip
    for _ in range(n_kills):
        started = len(server.log)
        proc = catalogue(env, "harvest", key, "--full")
        # Killed a random moment after its first request (the command takes ~2 s to start):
        # before its first page, between any two, or after its last.
        deadline = time.monotonic() + 60
        while len(server.log) == started and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(rng.uniform(min_seconds, max_seconds))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            figures["kills"] += 1
        proc.communicate(timeout=60)
        loaded = store.load_checkpoint(key)
        checkpoint = Checkpoint.from_state(loaded[1]) if loaded else None
        before = len(server.list_requests())
        rerun = catalogue(env, "harvest", key, "--full")
        out, err = rerun.communicate(timeout=120)
        assert rerun.returncode == 0, err
        figures["reruns"] += 1
        ids = source_ids(store, key)
        figures["lost"] += len(set(expected) - set(ids))
        figures["duplicates"] += len(ids) - len(set(ids))
        assert ids == expected
        assert "running" not in statuses(store, key)
        assert store.load_checkpoint(key) is None  # the rerun finished the list
        requests_made = server.list_requests()[before:]
        if checkpoint is not None and checkpoint.pages:
            figures["resumed"] += 1
            # From the checkpoint: the pages left (and the last one again), plus the faults.
            limit = left(checkpoint) + 2 * server.faults_since(before)
            assert len(requests_made) <= limit, (checkpoint, len(requests_made))
            figures["requests_saved"] += left(Checkpoint("full", None)) - len(requests_made)
    return figures


def test_kill_9_at_random_moments_loses_nothing(env, fault_server, tmp_path) -> None:
    total, page_size = 300, 15
    server = fault_server(total, page_size, rate=0.15, seed=SEED, page_delay=0.12)
    store = Store(create_store_engine(f"sqlite:///{tmp_path / 'catalogue.sqlite3'}"))
    store.migrate()
    store.add_source("f", "oai", server.url, metadata_prefix="oai_dc")
    expected = sorted(f"oai:faults:{i}" for i in range(total))
    pages = total // page_size
    figures = kill_and_rerun(env, store, server, "f", KILLS, lambda c: pages - c.pages + 1,
                             expected, SEED, max_seconds=4.0)  # fmt: skip
    print("oai kill figures", figures, dict(server.injected))
    assert figures["kills"] >= KILLS * 3 // 4
    assert figures["resumed"] >= KILLS // 2
    assert figures["lost"] == 0 and figures["duplicates"] == 0
    runs = store.list_runs("f", limit=1000)
    assert sum(r.message is not None and r.message.startswith("interrupted") for r in runs) >= (
        figures["kills"] // 2
    )
    store.dispose()


def test_kill_9_of_a_rest_harvest_loses_nothing(env, tmp_path) -> None:
    total, page_size = 2000, 20
    server = RestFaultServer(total, rate=0.1, seed=SEED, page_delay=0.02).start()
    store = Store(create_store_engine(f"sqlite:///{tmp_path / 'catalogue.sqlite3'}"))
    store.migrate()
    store.add_source("r", "json", server.url, config=validate_config("json", REST_CONFIG))
    expected = sorted(f"p{i}" for i in range(total))
    pages = total // page_size

    def left(checkpoint: Checkpoint) -> int:
        position = checkpoint.position or {"params": {"page": 1}}
        return pages - int(position["params"]["page"]) + 2

    try:
        # Killed 1.5 to 6 s into a listing of ~8 s (batches commit every 2 s)
        figures = kill_and_rerun(env, store, server, "r", max(KILLS // 4, 2), left, expected,
                                 SEED + 1, max_seconds=6.0, min_seconds=1.5)  # fmt: skip
    finally:
        server.stop()
    print("rest kill figures", figures, server.injected)
    assert figures["lost"] == 0 and figures["duplicates"] == 0
    assert figures["resumed"] >= 1
    store.dispose()


def test_sigterm_stops_a_harvest_within_seconds(env, fault_server, tmp_path) -> None:
    server = fault_server(300, 10, page_delay=0.3)
    store = Store(create_store_engine(f"sqlite:///{tmp_path / 'catalogue.sqlite3'}"))
    store.migrate()
    store.add_source("f", "oai", server.url, metadata_prefix="oai_dc")
    proc = catalogue(env, "harvest", "f")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(server.list_requests()) < 4:
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    started = time.monotonic()
    _out, err = proc.communicate(timeout=30)
    assert time.monotonic() - started < 5
    assert proc.returncode != 0
    assert "Traceback" not in err
    runs = store.list_runs("f")
    assert runs[0].status == "failed" and runs[0].message.startswith("interrupted"), runs[0]
    count = len(source_ids(store, "f"))
    time.sleep(1)
    assert len(source_ids(store, "f")) == count  # nothing writes afterwards
    assert store.load_checkpoint("f") is not None
    store.dispose()


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_sigterm_stops_serve_and_its_indexer_child(env) -> None:
    port = free_port()
    proc = catalogue(env, "serve", "--port", str(port))
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            requests.get(f"{base}/api/records", timeout=2)
            break
        except requests.ConnectionError:
            time.sleep(0.2)
    children = _children(proc.pid)
    assert children, "serve runs its indexer in a child process"
    busy = catalogue(env, "serve", "--port", str(port), "--no-indexer")
    _out, err = busy.communicate(timeout=60)
    assert busy.returncode != 0
    assert f"cannot listen on 127.0.0.1:{port}" in err and "Traceback" not in err
    assert len([line for line in err.splitlines() if line.strip()]) <= 2
    proc.send_signal(signal.SIGTERM)
    started = time.monotonic()
    proc.communicate(timeout=30)
    assert time.monotonic() - started < 5
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and any(_alive(pid) for pid in children):
        time.sleep(0.1)
    for pid in children:
        assert not _alive(pid), f"child {pid} outlived serve: {_cmdline(pid)}"


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return "?"


def test_a_100_kb_oai_error_is_printed_short_and_fast(env, fault_server, tmp_path) -> None:
    server = fault_server(30, 10, faults=[Fault("huge_error")])
    store = Store(create_store_engine(f"sqlite:///{tmp_path / 'catalogue.sqlite3'}"))
    store.migrate()
    store.add_source("f", "oai", server.url, metadata_prefix="oai_dc")
    started = time.monotonic()
    proc = catalogue(env, "harvest", "f")
    _out, err = proc.communicate(timeout=60)
    assert time.monotonic() - started < 20
    assert proc.returncode == 1
    line = next(line for line in err.splitlines() if line.startswith("f: failed"))
    assert "badArgument" in line and "characters cut" in line
    assert len(err) < 5000
    store.dispose()
