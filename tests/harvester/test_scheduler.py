"""The scheduler: schedules, jobs in the catalogue database, several scheduler processes
that never run one source twice at once, kill -9 mid-run, retention."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from catalogue.harvesting import run_harvest
from catalogue.scheduler import CatalogueScheduler, next_runs
from catalogue.schedules import BadSchedule, normalize_schedule, trigger_for
from catalogue.store import RunCounts, Store
from harvester import clock


@pytest.mark.parametrize(
    ("spec", "normal"),
    [
        ("0 3 * * *", "0 3 * * *"),
        ("  0  3 * *   1-5 ", "0 3 * * 1-5"),
        ("every 10s", "every 10s"),
        ("EVERY 6H", "every 6h"),
        ("every 1d", "every 1d"),
        ("every 30 m", "every 30m"),
        ("none", None),
        ("", None),
        (None, None),
    ],
)
def test_schedules_normalize(spec, normal) -> None:
    assert normalize_schedule(spec) == normal
    if normal:
        assert trigger_for(normal, jitter=30) is not None


@pytest.mark.parametrize(
    "spec", ["0 25 * * *", "every 0s", "every 5 weeks", "daily", "1 2 3", "* * * * * *", "x" * 200]
)
def test_bad_schedules_are_refused_with_the_reason(spec) -> None:
    with pytest.raises(BadSchedule):
        normalize_schedule(spec)


def test_crontab_weekday_numbers_count_from_sunday() -> None:
    from datetime import UTC, datetime

    trigger = trigger_for("0 3 * * 0")
    monday = datetime(2026, 11, 23, tzinfo=UTC)  # a Monday
    assert trigger.get_next_fire_time(None, monday).weekday() == 6  # Sunday
    assert trigger_for("every 10s", jitter=30).jitter == 1  # a tenth of the interval at most


def test_scheduler_runs_a_source_every_second_and_follows_edits(
    store: Store, serve, small_repo, app_settings
) -> None:
    server = serve({"/oai": small_repo})
    store.add_source("small", "oai", f"{server.base_url}/oai", schedule="every 1s")
    store.add_source("manual", "oai", f"{server.base_url}/oai")
    settings = replace(
        app_settings, scheduler=replace(app_settings.scheduler, sync_seconds=0.5, jitter_seconds=0)
    )
    sched = CatalogueScheduler(store, settings)
    sched.start()
    try:
        assert set(next_runs(store)) == {"small"}
        _wait(lambda: len(store.list_runs("small")) >= 2, 15)
        store.update_source("small", enabled=False)  # paused: its job goes
        _wait(lambda: next_runs(store) == {}, 5)
        time.sleep(1.5)
        count = len(store.list_runs("small"))
        time.sleep(1.5)
        assert len(store.list_runs("small")) == count
    finally:
        sched.shutdown(wait=True)
    runs = store.list_runs("small")
    assert all(r.status == "succeeded" for r in runs), [(r.status, r.message) for r in runs]
    assert runs[-1].counts.added == 9 and runs[0].counts.unchanged + runs[0].counts.added <= 9
    assert store.list_runs("manual") == []


def test_prune_keeps_the_newest_runs_per_source_and_drops_old_ones(store: Store) -> None:
    from catalogue.store import RunError

    ids = []
    for n in range(5):
        run_id = store.start_run("a", "full")
        store.add_run_errors(run_id, [RunError(f"r{n}", "map", "bad")])
        store.finish_run(run_id, "succeeded", RunCounts())
        ids.append(run_id)
    running = store.start_run("a", "full")
    other = store.start_run("b", "full")
    store.finish_run(other, "failed", RunCounts())
    assert store.prune_runs(older_than=clock.utcnow() - timedelta(days=1), keep_per_source=2) == 3
    assert {r.id for r in store.list_runs("a")} == {running, *ids[-2:]}
    assert store.run_errors(ids[0]) == [] and len(store.run_errors(ids[-1])) == 1
    assert store.prune_runs(older_than=clock.utcnow() + timedelta(days=1), keep_per_source=9) == 3
    assert [r.id for r in store.list_runs()] == [running]  # a running run is never pruned


# -- scheduler processes ------------------------------------------------------------


class SlowCounter:
    """An intercept that slows every OAI-PMH request and records the most ListRecords
    requests in flight at once (two overlapping runs of the source would make it 2)."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.lock = threading.Lock()
        self.in_flight = 0
        self.most = 0
        self.list_records = 0

    def __call__(self, path, query):
        if query.get("verb") != ["ListRecords"]:
            return None
        with self.lock:
            self.in_flight += 1
            self.list_records += 1
            self.most = max(self.most, self.in_flight)
        time.sleep(self.delay)
        with self.lock:
            self.in_flight -= 1
        return None


def _scheduler(env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "catalogue", "-v", "scheduler"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("w"),
    )


def _env(cli, **extra: str) -> dict[str, str]:
    return {
        **cli.env,
        "CATALOGUE_SCHEDULER_SYNC_SECONDS": "1",
        "CATALOGUE_SCHEDULER_JITTER_SECONDS": "0",
        "CATALOGUE_SCHEDULER_QUEUE_POLL_SECONDS": "0.5",
        "CATALOGUE_HARVEST_BACKOFF": "0.01",
        **extra,
    }


def _wait(condition, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.1)


def test_two_scheduler_processes_never_overlap_runs_of_a_source(
    cli, store: Store, serve, small_repo, tmp_path: Path
) -> None:
    server = serve({"/oai": small_repo})
    slow = SlowCounter(0.15)  # a run: 3 pages, about half a second
    server.intercept = slow
    cli("sources", "add", "small", f"{server.base_url}/oai", "--schedule", "every 1s")
    env = _env(cli)
    procs = [_scheduler(env, tmp_path / f"scheduler{n}.log") for n in range(2)]
    try:
        _wait(lambda: len([r for r in store.list_runs("small", 100) if r.finished_at]) >= 8, 40)
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            proc.wait(timeout=30)
    runs = store.list_runs("small", limit=1000)
    assert slow.most == 1, "two runs of the source were in flight at once"
    # SIGTERM stops a run in flight at its next page (recorded as interrupted); every
    # other run succeeded.
    stopped = [r for r in runs if r.status == "failed" and (r.message or "").startswith(
        "interrupted")]  # fmt: skip
    assert len(stopped) <= 1
    assert all(r.status == "succeeded" for r in runs if r not in stopped), [
        (r.status, r.message) for r in runs
    ]
    assert len(runs) - len(stopped) >= 8
    ordered = sorted(runs, key=lambda r: r.id)
    for before, after in zip(ordered, ordered[1:], strict=False):
        assert after.started_at >= before.finished_at
    logs = "".join((tmp_path / f"scheduler{n}.log").read_text() for n in range(2))
    assert "Traceback" not in logs
    assert store.count_records("small") == 9


def test_kill_9_mid_run_marks_the_run_interrupted_and_the_next_run_completes(
    cli, store: Store, serve, small_repo, tmp_path: Path
) -> None:
    server = serve({"/oai": small_repo})
    slow = SlowCounter(1.0)  # a run: 3 pages, about 3 s
    server.intercept = slow
    cli("sources", "add", "small", f"{server.base_url}/oai", "--schedule", "every 1s")
    env = _env(cli, CATALOGUE_SCHEDULER_LEASE_SECONDS="30")
    first = _scheduler(env, tmp_path / "first.log")
    try:
        _wait(lambda: store.count_records("small") > 0, 30)  # a page is stored, mid-run
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()
    # The dead client's last request may still be sleeping in the server: it is no run.
    _wait(lambda: slow.in_flight == 0, 10)
    slow.most = 0
    [killed] = store.list_runs("small")
    assert killed.status == "running"
    stored_before = store.count_records("small")
    assert 0 < stored_before < 9

    killed_at = time.monotonic()
    second = _scheduler(env, tmp_path / "second.log")
    try:
        _wait(lambda: store.get_run(killed.id).status == "failed", 30)
        assert time.monotonic() - killed_at < 30  # within the lease time
        _wait(lambda: any(r.status == "succeeded" for r in store.list_runs("small")), 30)
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=30)
    assert store.get_run(killed.id).message.startswith("interrupted")
    done = next(r for r in reversed(store.list_runs("small", 100)) if r.status == "succeeded")
    # It resumes where the killed run stopped (its checkpoint) or starts over: either way
    # it adds exactly the records the killed run had not stored.
    assert done.counts.added == 9 - stored_before
    assert store.count_records("small") == 9  # every record once
    assert slow.most == 1


def test_a_run_started_by_hand_is_not_doubled_by_the_scheduler(
    store: Store, serve, small_repo, app_settings
) -> None:
    server = serve({"/oai": small_repo})
    slow = SlowCounter(0.3)
    server.intercept = slow
    store.add_source("small", "oai", f"{server.base_url}/oai", schedule="every 1s")
    settings = replace(
        app_settings, scheduler=replace(app_settings.scheduler, sync_seconds=0.5, jitter_seconds=0)
    )
    sched = CatalogueScheduler(store, settings)
    sched.start()
    try:
        for _ in range(3):
            try:
                run_harvest(store, "small", settings)
            except Exception:  # noqa: BLE001 - SourceHeld: the scheduler's run is on
                time.sleep(0.2)
    finally:
        sched.shutdown(wait=True)
    assert slow.most == 1


def test_shutdown_is_not_blocked_by_a_sync_under_way(
    store: Store, serve, small_repo, app_settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """shutdown(wait=True) holds APScheduler's job-store lock while the running jobs finish;
    a sync under way then read the jobs, and so waited for that lock forever."""
    server = serve({"/oai": small_repo})
    slow = SlowCounter(0.5)  # a run: 3 pages, about 1.5 s
    server.intercept = slow
    store.add_source("small", "oai", f"{server.base_url}/oai", schedule="every 1s")
    syncing = threading.Event()
    list_sources = store.list_sources

    def slow_sync(*args, **kwargs):  # a sync while a run is on stays a moment in its query
        if slow.in_flight:
            syncing.set()
            time.sleep(0.5)
        return list_sources(*args, **kwargs)

    monkeypatch.setattr(store, "list_sources", slow_sync)
    settings = replace(
        app_settings, scheduler=replace(app_settings.scheduler, sync_seconds=0.2, jitter_seconds=0)
    )
    sched = CatalogueScheduler(store, settings)
    sched.start()
    try:
        _wait(syncing.is_set, 15)
    finally:
        stopper = threading.Thread(target=sched.shutdown, kwargs={"wait": True}, daemon=True)
        stopper.start()
        stopper.join(timeout=15)
    assert not stopper.is_alive(), "shutdown hung"
    assert [r.status for r in store.list_runs("small")] == ["succeeded"]


def test_a_job_another_scheduler_removed_does_not_end_this_ones_loop(store: Store) -> None:
    """Schedulers share the job store: a job removed by another scheduler's sync between
    this one reading it as due and writing its next run time must not raise in the main
    loop (the plain APScheduler store raises JobLookupError there, ending the loop)."""
    from apscheduler.jobstores.base import JobLookupError
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.triggers.interval import IntervalTrigger

    from catalogue.scheduler import JOBS_TABLE, SharedJobStore

    mine = SharedJobStore(engine=store.engine, tablename=JOBS_TABLE)
    theirs = SharedJobStore(engine=store.engine, tablename=JOBS_TABLE)
    scheduler = BackgroundScheduler(jobstores={"default": mine, "theirs": theirs})
    scheduler.start(paused=True)
    try:
        job = scheduler.add_job(print, IntervalTrigger(seconds=60), id="harvest:gone")
        theirs.remove_job("harvest:gone")  # the other scheduler's sync
        job._modify(next_run_time=job.next_run_time + timedelta(seconds=60))
        with pytest.raises(JobLookupError):
            SQLAlchemyJobStore.update_job(mine, job)
        mine.update_job(job)  # what the main loop does next: no error
        mine.remove_job("harvest:gone")
        assert mine.get_all_jobs() == []
    finally:
        scheduler.shutdown(wait=False)
