"""Per-source leases: one run of a source at a time, whoever starts it; dead holders' runs
are marked interrupted (at once on this host, after the expiry across hosts)."""

from __future__ import annotations

import subprocess
import threading
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, text

from catalogue.harvesting import run_harvest
from catalogue.store import Holder, RunCounts, SourceHeld, Store
from catalogue.store.leases import INTERRUPTED
from harvester import clock


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_second_claim_is_refused_until_release(store: Store) -> None:
    lease = store.claim_lease("a", ttl=30)
    with pytest.raises(SourceHeld) as refused:
        store.claim_lease("a", ttl=30)
    assert refused.value.lease is not None and refused.value.lease.holder == Holder.this_process()
    assert "another run holds source 'a'" in str(refused.value)
    other = store.claim_lease("b", ttl=30)  # other sources are independent
    store.release_lease(lease)
    again = store.claim_lease("a", ttl=30)
    assert again.token != lease.token
    store.release_lease(lease)  # a stale release changes nothing
    with pytest.raises(SourceHeld):
        store.claim_lease("a", ttl=30)
    store.release_lease(again)
    store.release_lease(other)


def test_dead_holder_on_this_host_is_taken_over_at_once_and_its_run_interrupted(
    store: Store,
) -> None:
    here = Holder.this_process()
    dead = Holder(here.host, _dead_pid(), here.process_start)
    lease = store.claim_lease("src", ttl=3600, holder=dead)
    run_id = store.start_run("src", "full")
    assert store.attach_run(lease, run_id)
    assert not store.get_lease("src").is_live()

    mine = store.claim_lease("src", ttl=30)
    run = store.get_run(run_id)
    assert run.status == "failed" and run.message.startswith(INTERRUPTED)
    assert run.finished_at is not None
    assert not store.renew_lease(lease)  # the dead holder's token is void
    assert store.renew_lease(mine)


def test_a_reused_pid_is_not_the_holder(store: Store) -> None:
    here = Holder.this_process()
    impostor = Holder(here.host, here.pid, "1")  # our pid, another process's start time
    store.claim_lease("src", ttl=3600, holder=impostor)
    store.claim_lease("src", ttl=30)


def test_holder_on_another_host_is_waited_for_until_its_heartbeat_expires(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    remote = Holder("elsewhere.example.org", 1, "1")
    lease = store.claim_lease("src", ttl=60, holder=remote)
    run_id = store.start_run("src", "incremental")
    store.attach_run(lease, run_id)
    with pytest.raises(SourceHeld):
        store.claim_lease("src", ttl=30)
    assert store.reap_dead_runs() == []
    assert store.get_run(run_id).status == "running"

    later = clock.utcnow() + timedelta(seconds=61)
    monkeypatch.setattr(clock, "utcnow", lambda: later)
    assert store.reap_dead_runs() == [run_id]
    assert store.get_run(run_id).status == "failed"
    assert "elsewhere.example.org" in store.get_run(run_id).message
    store.claim_lease("src", ttl=30)


def test_heartbeat_keeps_a_lease_alive(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    lease = store.claim_lease("src", ttl=60, holder=Holder("elsewhere", 1, "1"))
    start = clock.utcnow()
    monkeypatch.setattr(clock, "utcnow", lambda: start + timedelta(seconds=50))
    assert store.renew_lease(lease, ttl=60)
    monkeypatch.setattr(clock, "utcnow", lambda: start + timedelta(seconds=100))
    with pytest.raises(SourceHeld):
        store.claim_lease("src")


def test_reap_marks_running_runs_without_a_live_lease_and_spares_live_ones(store: Store) -> None:
    orphan = store.start_run("gone", "full")  # its process died before naming it on a lease
    lease = store.claim_lease("busy", ttl=60)
    busy = store.start_run("busy", "full")
    store.attach_run(lease, busy)
    stale = store.start_run("busy", "full")  # an older run of a source now held by another
    assert sorted(store.reap_dead_runs()) == sorted([orphan, stale])
    assert store.get_run(busy).status == "running"
    assert store.get_run(orphan).status == "failed"
    store.finish_run(busy, "succeeded", RunCounts())
    assert store.reap_dead_runs() == []


def test_concurrent_claims_have_exactly_one_winner(db_url: str, store: Store) -> None:
    stores = [Store(db_url) for _ in range(6)]
    barrier = threading.Barrier(len(stores))
    won: list[int] = []
    errors: list[BaseException] = []

    def claim(n: int) -> None:
        barrier.wait()
        try:
            stores[n].claim_lease("src", ttl=60)
            won.append(n)
        except SourceHeld:
            pass
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=claim, args=(n,)) for n in range(len(stores))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for s in stores:
        s.dispose()
    assert errors == []
    assert len(won) == 1


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_postgres_claim_skips_a_row_locked_by_another_claimant(db_url: str, store: Store) -> None:
    lease = store.claim_lease("src", ttl=60)
    store.release_lease(lease)
    other = create_engine(db_url)
    with other.begin() as conn:
        conn.execute(text("SELECT * FROM source_leases WHERE source = 'src' FOR UPDATE"))
        with pytest.raises(SourceHeld):  # returns at once instead of waiting for the lock
            store.claim_lease("src", ttl=60)
    other.dispose()
    store.claim_lease("src", ttl=60)


def test_run_harvest_takes_and_releases_the_lease(store: Store, serve, small_repo, app_settings):
    server = serve({"/oai": small_repo})
    store.add_source("small", "oai", f"{server.base_url}/oai")
    run = run_harvest(store, "small", app_settings)
    assert run.status == "succeeded" and run.counts.added == 9
    lease = store.get_lease("small")
    assert lease.token is None and lease.run_id == run.id

    held = store.claim_lease("small", ttl=60)
    with pytest.raises(SourceHeld):
        run_harvest(store, "small", app_settings)
    store.release_lease(held)
    assert len(store.list_runs("small")) == 1  # the refused run left no row


def test_a_queued_run_becomes_the_run(store: Store, serve, small_repo, app_settings):
    from catalogue.harvesting import run_queued

    server = serve({"/oai": small_repo})
    store.add_source("small", "oai", f"{server.base_url}/oai")
    queued = store.queue_run("small", "full")
    assert store.get_run(queued).status == "queued"
    [run] = run_queued(store, app_settings)
    assert run.id == queued and run.status == "succeeded" and run.counts.added == 9
    assert run_queued(store, app_settings) == []
    gone = store.queue_run("nosuch", "full")
    assert run_queued(store, app_settings) == []
    assert store.get_run(gone).status == "failed"


def test_cli_harvest_of_a_held_source_says_so_and_fails(cli, store: Store) -> None:
    cli("sources", "add", "held", "http://127.0.0.1:9/oai")
    lease = store.claim_lease("held", ttl=60)
    proc = cli("harvest", "held", check=False)
    assert proc.returncode != 0
    assert "another run holds source 'held'" in proc.stderr
    store.release_lease(lease)


def test_harvest_now_at_once_queues_one_run(store: Store) -> None:
    """Eight "harvest now" released together: one run queued, the others told one is."""
    import threading

    store.add_source("twice", "oai", "http://127.0.0.1:9/oai")
    barrier = threading.Barrier(8)
    got: list[int | None] = []

    def ask() -> None:
        barrier.wait()
        got.append(store.queue_run_once("twice", "full"))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    queued = [run_id for run_id in got if run_id is not None]
    assert len(got) == 8 and len(queued) == 1
    assert [r.id for r in store.list_runs("twice")] == queued
    assert store.queue_run_once("twice", "full") is None  # still queued
