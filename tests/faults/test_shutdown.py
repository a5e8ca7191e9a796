"""SIGTERM to `catalogue indexer` and `catalogue scheduler` in the middle of their work, as
real processes: each stops within seconds, its children included, leaves its work either
committed or rolled back, and nothing writes afterwards (serve and harvest: test_kills)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from catalogue.config import Settings, load_settings
from catalogue.demo.replay import start_replay_server
from catalogue.search.embedded import META_FILE, TantivyIndex
from catalogue.store import IncomingRecord, Store, create_store_engine
from harvester.rest.registry import validate_config
from tests.faults.oai_faults import make_repository
from tests.faults.rest_faults import CONFIG as REST_CONFIG
from tests.faults.rest_faults import RestFaultServer

STOP_SECONDS = 5  # from SIGTERM to the process gone
QUIET_SECONDS = 2  # watched afterwards for writes


@pytest.fixture
def env(tmp_path: Path) -> dict:
    values = dict(
        os.environ,
        CATALOGUE_DATA_DIR=str(tmp_path),
        CATALOGUE_HARVEST_BACKOFF="0.01",
        CATALOGUE_HARVEST_MAX_RETRIES="2",
        CATALOGUE_HARVEST_TIMEOUT="30",
        CATALOGUE_HARVEST_RESPONSE_TIMEOUT="60",
        CATALOGUE_SCHEDULER_SYNC_SECONDS="1",
        CATALOGUE_SCHEDULER_JITTER_SECONDS="0",
        CATALOGUE_SCHEDULER_QUEUE_POLL_SECONDS="0.5",
    )
    values.pop("CATALOGUE_CONFIG", None)
    values.pop("CATALOGUE_DATABASE_URL", None)
    return values


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """The settings the commands of ``env`` run with (database, index directory)."""
    return load_settings({"data_dir": str(tmp_path)}, env={})


def start(env: dict, log: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "catalogue", "-v", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("w"),
    )


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def stop(proc: subprocess.Popen) -> float:
    """SIGTERM ``proc``; the seconds it took to exit (it is killed after 60)."""
    proc.send_signal(signal.SIGTERM)
    started = time.monotonic()
    try:
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return time.monotonic() - started


def descendants(pid: int) -> list[int]:
    """The processes ``pid`` started, and theirs."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        children = [child for child, ppid in parents.items() if ppid == parent]
        found += children
        frontier += children
    return found


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def files(directory: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``directory``: (size, mtime in ns)."""
    return {
        str(path.relative_to(directory)): (path.stat().st_size, path.stat().st_mtime_ns)
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


def checkpoint(index_dir: Path) -> int:
    """The change-log position the index has applied (0 before its first commit)."""
    try:
        return int(json.loads((index_dir / META_FILE).read_text()).get("checkpoint", 0))
    except (FileNotFoundError, ValueError):
        return 0


def indexed(index_dir: Path) -> int:
    index = TantivyIndex(index_dir, writer=False)
    try:
        return index.count()
    finally:
        index.close()


# -- indexer -------------------------------------------------------------------------


def fill(store: Store, n: int, page: int = 1000) -> None:
    """``n`` small records, one change each."""
    store.add_source("s", "oai", "http://example.org/oai")
    for first in range(0, n, page):
        store.upsert_page(
            "s",
            [
                IncomingRecord(
                    f"r{i}",
                    {
                        "titles": [{"title": f"Record {i} of a long change log"}],
                        "publicationYear": 2020,
                        "descriptions": [{"description": "word " * 40}],
                    },
                )  # fmt: skip
                for i in range(first, min(n, first + page))
            ],
        )


def test_sigterm_stops_the_indexer_mid_log_and_a_restart_finishes_exactly(
    env, settings, tmp_path
) -> None:
    total = 40_000  # 8 commits of 5,000 changes: seconds each on a loaded machine
    store = Store(create_store_engine(settings.database_url))
    store.migrate()
    fill(store, total)
    last = store.last_seq()
    index_dir = Path(settings.index_dir)

    proc = start(env, tmp_path / "indexer.log", "indexer")
    wait_for(lambda: checkpoint(index_dir) > 0 or proc.poll() is not None, 120, "a first commit")
    assert proc.poll() is None, (tmp_path / "indexer.log").read_text()
    seconds = stop(proc)
    log = (tmp_path / "indexer.log").read_text()
    assert proc.returncode == 0, log
    assert "Traceback" not in log
    assert seconds < STOP_SECONDS, f"the indexer took {seconds:.1f} s to stop"

    # Nothing writes the index once the indexer is gone.
    before = files(index_dir)
    time.sleep(QUIET_SECONDS)
    assert files(index_dir) == before
    # The position is exact: the index holds every record of the changes up to it, no other.
    applied = checkpoint(index_dir)
    assert 0 < applied < last, "stopped before the end of the log (else it tested nothing)"
    changes = store.changes_since(0, total)
    assert indexed(index_dir) == len({c.record_id for c in changes if c.seq <= applied})

    again = start(env, tmp_path / "indexer2.log", "indexer")
    wait_for(lambda: checkpoint(index_dir) == last or again.poll() is not None, 180, "the end")
    assert stop(again) < STOP_SECONDS
    assert again.returncode == 0, (tmp_path / "indexer2.log").read_text()
    assert checkpoint(index_dir) == last
    assert indexed(index_dir) == total == store.count_records()
    store.dispose()


# -- scheduler -----------------------------------------------------------------------


@pytest.mark.parametrize("page_delay", [0.3, 20.0], ids=["pages", "a-slow-page"])
def test_sigterm_stops_the_scheduler_and_its_harvest(
    env, settings, fault_server, tmp_path, page_delay
) -> None:
    # Pages of 100 records with more than 1,000 to come: the harvest maps them in a worker
    # process (harvester.map_ahead), a child of the scheduler. "a-slow-page": SIGTERM
    # arrives while a page takes 20 s to come (a slow source must not hold the stop up).
    server = fault_server(3000, 100, page_delay=0.3)
    store = Store(create_store_engine(settings.database_url))
    store.migrate()
    store.add_source("f", "oai", server.url, metadata_prefix="oai_dc", schedule="every 1s")
    proc = start(env, tmp_path / "scheduler.log", "scheduler")
    try:
        wait_for(lambda: store.count_records("f") >= 300 or proc.poll() is not None, 120,
                 "pages stored")  # fmt: skip
        assert proc.poll() is None, (tmp_path / "scheduler.log").read_text()
        wait_for(lambda: descendants(proc.pid), 30, "the mapping worker")
        server.page_delay = page_delay
        time.sleep(min(page_delay, 1.0))  # a page in flight
        children = descendants(proc.pid)
        seconds = stop(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
    log = (tmp_path / "scheduler.log").read_text()
    assert "Traceback" not in log, log[-3000:]
    assert proc.returncode == 0, log[-3000:]
    assert seconds < STOP_SECONDS, f"the scheduler took {seconds:.1f} s to stop"
    wait_for(lambda: not any(alive(pid) for pid in children), 3, "its children to end")

    [run] = store.list_runs("f")
    assert run.status == "failed" and run.message.startswith("interrupted"), run
    lease = store.get_lease("f")
    assert lease is not None and lease.token is None  # released, not left to expire
    # Nothing writes afterwards, and the run's page was committed whole or not at all.
    stored, seq = store.count_records("f"), store.last_seq()
    time.sleep(QUIET_SECONDS)
    assert (store.count_records("f"), store.last_seq()) == (stored, seq)
    assert stored % 100 == 0 and stored == run.counts.added, (stored, run.counts)
    assert store.load_checkpoint("f") is not None  # the next run resumes there
    store.dispose()


def test_sigterm_stops_the_scheduler_while_a_source_is_slow_to_identify(
    env, settings, tmp_path
) -> None:
    # The run's first requests (Identify, ListMetadataFormats) are made by the harvest
    # thread itself, not by the page prefetcher: a source slow to answer them must not
    # hold the stop up either.
    server, _url = start_replay_server(repositories={"/oai": make_repository(30, 10)})
    asked, release = threading.Event(), threading.Event()

    def slow_identify(_path: str, query: dict) -> None:
        if query.get("verb") == ["Identify"]:
            asked.set()
            release.wait(30)
        return None

    server.intercept = slow_identify
    store = Store(create_store_engine(settings.database_url))
    store.migrate()
    store.add_source("s", "oai", server.url("/oai"), metadata_prefix="oai_dc",
                     schedule="every 1s")  # fmt: skip
    proc = start(env, tmp_path / "scheduler.log", "scheduler")
    try:
        wait_for(lambda: asked.is_set() or proc.poll() is not None, 60, "the run's Identify")
        time.sleep(0.5)
        seconds = stop(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
        release.set()
        server.stop()
    log = (tmp_path / "scheduler.log").read_text()
    assert "Traceback" not in log, log[-3000:]
    assert proc.returncode == 0, log[-3000:]
    assert seconds < STOP_SECONDS, f"the scheduler took {seconds:.1f} s to stop"
    [run] = store.list_runs("s")
    assert run.status == "failed" and run.message.startswith("interrupted"), run
    assert store.get_lease("s").token is None
    assert store.count_records("s") == 0
    store.dispose()


def test_sigterm_stops_the_scheduler_while_a_rest_record_request_hangs(
    env, settings, tmp_path
) -> None:
    # A full REST run checks each stored record the listing no longer holds at the record's
    # own URL, in the harvest thread itself (not in the page prefetcher). A server that takes
    # the request and never answers must not hold the stop up for the socket timeout (30 s).
    server = RestFaultServer(40).start()
    server.hang_records = True
    store = Store(create_store_engine(settings.database_url))
    store.migrate()
    config = validate_config("json", {**REST_CONFIG, "record_url": "records/{id}"})
    store.add_source("r", "json", server.url, config=config, schedule="every 1s")
    store.upsert_page("r", [IncomingRecord("gone", {"titles": [{"title": "Unlisted"}]})])
    proc = start(env, tmp_path / "scheduler.log", "scheduler")
    try:
        wait_for(lambda: server.record_asked.is_set() or proc.poll() is not None, 60,
                 "the deletion check")  # fmt: skip
        assert proc.poll() is None, (tmp_path / "scheduler.log").read_text()
        time.sleep(0.5)
        seconds = stop(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
        server.stop()
    log = (tmp_path / "scheduler.log").read_text()
    assert "Traceback" not in log, log[-3000:]
    assert proc.returncode == 0, log[-3000:]
    assert seconds < STOP_SECONDS, f"the scheduler took {seconds:.1f} s to stop"
    [run] = store.list_runs("r")
    assert run.status == "failed" and run.message.startswith("interrupted"), run
    assert store.get_lease("r").token is None
    assert "gone" in store.live_source_ids("r")  # not tombstoned on an unanswered check
    assert store.count_records("r", deleted=True) == 0
    store.dispose()
