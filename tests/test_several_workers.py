"""Several workers (issue 15): two harvest workers (`catalogue scheduler`) and two indexers
(`catalogue indexer --wait`) as real processes on one PostgreSQL store, with and without a
worker killed mid-run: every record stored once, logged once, indexed once; and a standby
indexer that waits without error."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.search.cluster_support import unique_alias

OAI_SOURCES = {"oai1": 700, "oai2": 700, "oai3": 700}  # records each, pages of 50
REST_SOURCE, REST_RECORDS = "rest", 600  # pages of 20
SCHEDULE = "every 2s"


@pytest.fixture
def sources(store):
    """Three OAI-PMH servers and a paginated JSON API over real HTTP, slow enough per page
    that the harvests of the two workers overlap; the sources in the store (no schedule
    yet). Yields {source: expected source ids}."""
    from harvester.rest.registry import validate_config
    from tests.faults.oai_faults import FaultServer, make_repository
    from tests.faults.rest_faults import CONFIG, RestFaultServer

    servers = []
    expected: dict[str, list[str]] = {}
    for key, n in OAI_SOURCES.items():
        server = FaultServer(make_repository(n, 50), page_delay=0.25).start()
        servers.append(server)
        store.add_source(key, "oai", server.url, metadata_prefix="oai_dc")
        expected[key] = sorted(f"oai:faults:{i}" for i in range(n))
    rest = RestFaultServer(REST_RECORDS, page_delay=0.03).start()
    servers.append(rest)
    store.add_source(REST_SOURCE, "json", rest.url, config=validate_config("json", CONFIG))
    expected[REST_SOURCE] = sorted(f"p{i}" for i in range(REST_RECORDS))
    yield expected
    for server in servers:
        server.stop()


def spawn(env: dict, log: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "catalogue", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("w"),
    )


def until(condition, timeout: float, what: str, every: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(every)


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
@pytest.mark.parametrize(
    ("kill", "backend"),
    [
        (False, "embedded"),
        pytest.param(True, "embedded", marks=pytest.mark.faults),
        (False, "cluster"),
    ],
    ids=["clean", "kill-9", "cluster"],
)
def test_two_workers_and_two_indexers_store_and_index_every_record_once(
    cli, store, sources, tmp_path: Path, kill: bool, backend: str, request
) -> None:
    """Two `catalogue scheduler` workers harvest four sources (about 2,700 records) on one
    PostgreSQL store while two `catalogue indexer --wait` follow its change log into one
    index (one writes, the other stands by and takes over when the first is stopped
    mid-harvest): the embedded one (its lock file), or a search cluster (the writer lease
    and applied seq in table search_state). With ``kill``, a worker is killed with SIGKILL
    mid-run and the other finishes its sources. Either way: every record stored once,
    written once to the change log, no two runs of a source overlap, every seq of the log
    applied by exactly one indexer, and the index holds each live record once."""
    from sqlalchemy import func, select

    from catalogue.config import load_settings
    from catalogue.scheduler import next_runs
    from catalogue.search.base import SearchQuery
    from catalogue.search.indexer import open_index
    from catalogue.store.search_state import SearchState
    from catalogue.tables import ChangeRow, RecordRow

    env = {
        **cli.env,
        "CATALOGUE_SCHEDULER_SYNC_SECONDS": "1",
        "CATALOGUE_SCHEDULER_JITTER_SECONDS": "0",
        "CATALOGUE_SCHEDULER_QUEUE_POLL_SECONDS": "0.5",
        "CATALOGUE_SCHEDULER_WORKERS": "2",  # two sources at a time each: both get work
        "CATALOGUE_HARVEST_BACKOFF": "0.01",
        "CATALOGUE_SEARCH_INDEXER_INTERVAL": "0.3",
        "PYTHONFAULTHANDLER": "1",
    }
    if backend == "cluster":
        env["CATALOGUE_SEARCH_URL"] = f"opensearch+{request.getfixturevalue('osmem_url')}"
        env["CATALOGUE_SEARCH_INDEX_ALIAS"] = alias = unique_alias()
    settings = load_settings(env=env)

    def applied() -> int:  # the change-log seq the index's last commit reached
        if backend == "cluster":
            return SearchState(store.engine).applied(alias)
        return reader_seq(settings.index_dir)

    logs = {name: tmp_path / f"{name}.log" for name in ("w0", "w1", "i0", "i1")}
    workers = [spawn(env, logs[f"w{n}"], "-v", "scheduler") for n in range(2)]
    indexers = [spawn(env, logs[f"i{n}"], "indexer", "--wait") for n in range(2)]
    procs = workers + indexers

    def said(name: str, what: str) -> bool:
        return what in logs[name].read_text()

    try:
        until(lambda: said("w0", "scheduler running") and said("w1", "scheduler running"),
              60, "both workers")  # fmt: skip
        until(lambda: said("i0", "standing by") or said("i1", "standing by"), 60, "a standby")
        standby = 0 if said("i0", "standing by") else 1
        active = indexers[1 - standby]
        assert indexers[standby].poll() is None and active.poll() is None

        for key in sources:  # both workers are up: the first runs race for the leases
            store.update_source(key, schedule=SCHEDULE)

        holders: dict[str, set[int]] = {key: set() for key in sources}
        killed: int | None = None
        handed_over = False
        deadline = time.monotonic() + 120

        def harvested() -> bool:
            return all(
                store.count_records(key) == len(ids)
                and store.load_checkpoint(key) is None
                and any(r.status == "succeeded" for r in store.list_runs(key, 50))
                for key, ids in sources.items()
            )

        while not harvested() or applied() != store.last_seq():
            assert time.monotonic() < deadline, "the harvests never finished"
            leases = store.live_leases()
            for key, lease in leases.items():
                holders[key].add(lease.holder.pid)
            if kill and killed is None:
                # SIGKILL the holder of a source that is part-way through its first run.
                for key, lease in leases.items():
                    if 100 <= store.count_records(key) <= len(sources[key]) - 100:
                        killed = lease.holder.pid
                        os.kill(killed, signal.SIGKILL)
                        break
            if not handed_over and applied() > 0:
                active.send_signal(signal.SIGTERM)  # the standby takes over mid-harvest
                handed_over = True
            time.sleep(0.1)
        # The runs of a source repeat every 2 s: unscheduled, they end, and then the
        # processes are stopped with nothing in flight.
        for key in sources:
            store.update_source(key, schedule=None)
        until(lambda: not next_runs(store) and not store.live_leases(), 30, "the runs to end")
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:  # hung: its threads' stacks to its log, then gone
                proc.send_signal(signal.SIGABRT)
                proc.wait(timeout=10)
    text = {name: path.read_text() for name, path in logs.items()}
    # No error but for an indexer's retried call to a slow cluster (logged, then retried).
    retried = "indexer failed (attempt"
    failed = {
        name: log[log.index("Traceback") - 300 :][:4000]
        for name, log in text.items()
        if "Traceback" in log and retried not in log
    }
    assert not failed, "\n\n".join(f"{name}: ...{excerpt}" for name, excerpt in failed.items())

    # Each process stopped cleanly, but for the one killed.
    for name, proc in zip(("w0", "w1", "i0", "i1"), procs, strict=True):
        expected = -signal.SIGKILL if proc.pid == killed else 0
        assert proc.returncode == expected, (name, proc.returncode, text[name][-3000:])

    # Stored once: each source's records, each once, nothing else; one change each.
    with store.engine.connect() as conn:
        for key, ids in sources.items():
            stored = conn.execute(
                select(RecordRow.source_id).where(RecordRow.source == key)
            ).scalars()
            assert sorted(stored) == ids
        live = sorted(conn.execute(select(RecordRow.id)).scalars())
        changes = conn.execute(
            select(ChangeRow.record_id, func.count()).group_by(ChangeRow.record_id)
        ).all()
    assert len(live) == sum(len(ids) for ids in sources.values())
    assert {rid: n for rid, n in changes if n != 1} == {}
    assert sorted(rid for rid, _ in changes) == live
    assert store.last_seq() == len(live) == store.count_records()
    runs = [run for key in sources for run in store.list_runs(key, limit=1000)]

    # One worker at a time per source: no two runs of a source overlap.
    for key in sources:
        mine = sorted((r for r in runs if r.source == key), key=lambda r: r.id)
        for before, after in zip(mine, mine[1:], strict=False):
            assert before.finished_at is not None and after.started_at >= before.finished_at
        for run in mine:  # the one run that can fail: the killed worker's, interrupted
            assert run.status == "succeeded" or (
                kill and run.message.startswith("interrupted") and "died" in run.message
            ), run
        assert holders[key] <= {w.pid for w in workers}, holders

    # Both workers harvested; the killed worker's sources were finished by the other.
    added = {n: worker_successes(text[f"w{n}"]) for n in range(2)}
    survivor = next(n for n in range(2) if workers[n].pid != killed)
    if kill:
        assert killed is not None
        interrupted = [r for r in runs if r.status == "failed"]
        assert interrupted, "the killed worker had a run under way"
        for run in interrupted:  # finished by the other worker, in a run of its own
            assert any(r.source == run.source and r.id > run.id and r.status == "succeeded"
                       for r in runs)  # fmt: skip
        assert added[survivor], added
    else:
        assert added[0] and added[1], added
        for key, ids in sources.items():  # every record added by exactly one run
            assert sum(r.counts.added for r in runs if r.source == key) == len(ids)

    # Applied once: the first indexer applied 0..X, the standby X..last; no seq twice.
    first = applied_range(text[f"i{1 - standby}"])
    second = applied_range(text[f"i{standby}"])
    assert first[0] == 0 and first[1] == second[0] and second[1] == store.last_seq()
    assert first[1] > 0, text  # the handover came mid-harvest
    assert "taken over" in text[f"i{standby}"]

    # The index holds exactly the live records, each once.
    index = open_index(settings, writer=False)
    try:
        assert index.count() == len(live) and index.checkpoint() == len(live)
        hits = index.search(SearchQuery(size=len(live) + 10, facets=False)).hits
        assert sorted(hit["id"] for hit in hits) == live
    finally:
        index.close()


def reader_seq(index_dir: str) -> int:
    """The change-log seq the embedded index's last commit reached (its meta file)."""
    path = Path(index_dir) / "catalogue-index.json"
    try:
        return int(json.loads(path.read_text()).get("checkpoint", 0))
    except (FileNotFoundError, ValueError):
        return 0


def worker_successes(log: str) -> dict[str, int]:
    """Source -> records added by the succeeded runs of one worker (its -v log)."""
    found: dict[str, int] = {}
    for key, n in re.findall(r"scheduler: (\S+) succeeded \(RunCounts\(added=(\d+)", log):
        found[key] = found.get(key, 0) + int(n)
    return {key: n for key, n in found.items() if n}


def applied_range(log: str) -> tuple[int, int]:
    """(from, to) of the change log an indexer applied, from the line it prints on exit."""
    match = re.search(r"applied the change log from seq (\d+) to seq (\d+)", log)
    assert match, log
    return int(match[1]), int(match[2])


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_standby_indexer_waits_without_error_and_stops_on_sigterm(cli, tmp_path: Path) -> None:
    logs = [tmp_path / "first.log", tmp_path / "standby.log"]
    first = spawn(cli.env, logs[0], "indexer")
    try:
        until(lambda: (tmp_path / "index" / "meta.json").exists(), 60, "the first indexer")
        refused = cli("indexer", check=False)  # without --wait: the index is held, it exits
        assert refused.returncode == 1 and "held by another indexer" in refused.stderr
        standby = spawn(cli.env, logs[1], "indexer", "--wait")
        until(lambda: "standing by" in logs[1].read_text(), 60, "the standby")
        time.sleep(1.5)  # it keeps trying, quietly
        assert standby.poll() is None and logs[1].read_text().count("standing by") == 1
        standby.send_signal(signal.SIGTERM)
        assert standby.wait(timeout=10) == 0
    finally:
        first.send_signal(signal.SIGTERM)
        first.wait(timeout=30)
    assert "applied the change log from seq 0 to seq 0" in logs[0].read_text()
    assert "Traceback" not in logs[1].read_text() and "stopped" not in logs[1].read_text()
