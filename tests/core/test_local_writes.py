"""Concurrent writes of local records (the ingest API's store path), on SQLite and
PostgreSQL: conflicting writes are ordered, so exactly one of them passes its checks;
on PostgreSQL writes that share no record id and no DOI do not wait for each other."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy.exc import OperationalError

from catalogue.store import LocalWrite, ProblemKind, Store, create_store_engine
from catalogue.store.engine import is_lock_timeout


def meta(title: str, doi: str) -> dict:
    return {
        "titles": [{"title": title}],
        "types": {"resourceTypeGeneral": "Dataset"},
        "identifiers": [{"identifier": doi, "identifierType": "DOI"}],
    }


def create(rid: str, doi: str) -> LocalWrite:
    return LocalWrite(rid=rid, op="create", metadata=meta(rid, doi), sets=["source:local"])


def write_all(store: Store, batches: list[list[LocalWrite]]) -> list:
    start = threading.Barrier(len(batches))

    def one(writes: list[LocalWrite]):
        start.wait()
        return store.write_local(writes, actor="t")

    with ThreadPoolExecutor(len(batches)) as pool:
        return [result for results in pool.map(one, batches) for result in results]


def test_concurrent_deposits_of_one_doi_store_one(store: Store) -> None:
    results = write_all(store, [[create(f"rec-{n}", "10.5555/same")] for n in range(8)])
    assert sum(r.problem is None for r in results) == 1
    assert sorted(r.problem.kind for r in results if r.problem) == [ProblemKind.DOI_TAKEN] * 7
    assert len([c for c in store.changes_since(0, 100) if c.op == "upsert"]) == 1


def test_concurrent_deposits_of_one_id_store_one(store: Store) -> None:
    results = write_all(store, [[create("rec", f"10.5555/{n}")] for n in range(8)])
    assert sum(r.problem is None for r in results) == 1
    assert sorted(r.problem.kind for r in results if r.problem) == [ProblemKind.ID_TAKEN] * 7


def test_concurrent_replaces_of_one_version_store_one(store: Store) -> None:
    (made,) = store.write_local([create("rec", "10.5555/x")], actor="t")
    etag = frozenset({made.etag})
    batches = [
        [
            LocalWrite(
                "rec", "replace", meta(f"v{n}", "10.5555/x"), ["source:local"], expected_etags=etag
            )
        ]
        for n in range(8)
    ]
    results = write_all(store, batches)
    assert sum(r.problem is None for r in results) == 1
    assert sorted(r.problem.kind for r in results if r.problem) == [ProblemKind.STALE] * 7


def test_concurrent_deposits_of_distinct_records_all_store(store: Store) -> None:
    results = write_all(store, [[create(f"rec-{n}", f"10.5555/{n}")] for n in range(8)])
    assert all(r.problem is None for r in results)
    assert len(store.changes_since(0, 100)) == 8


def _holding_locks_of(store: Store, writes: list[LocalWrite]):
    """An open transaction holding the local-write locks ``writes`` would take."""
    conn = store.engine.connect()
    tx = conn.begin()
    store._lock_local_writes(conn, writes)
    return conn, tx


def _in_thread(store: Store, writes: list[LocalWrite]) -> tuple[threading.Thread, list]:
    done: list = []
    thread = threading.Thread(target=lambda: done.extend(store.write_local(writes, actor="t")))
    thread.start()
    return thread, done


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_only_writes_sharing_an_id_or_a_doi_wait(store: Store) -> None:
    conn, tx = _holding_locks_of(store, [create("held", "10.5555/held")])
    try:
        other, other_done = _in_thread(store, [create("other", "10.5555/other")])
        same_doi, same_doi_done = _in_thread(store, [create("third", "10.5555/HELD")])
        same_id, same_id_done = _in_thread(store, [create("held", "10.5555/fourth")])
        other.join(30)
        assert other_done and other_done[0].problem is None  # did not wait
        same_doi.join(0.5)
        same_id.join(0.1)
        assert same_doi.is_alive() and same_id.is_alive()  # waiting for the held locks
    finally:
        tx.rollback()
        conn.close()
    same_doi.join(30)
    same_id.join(30)
    assert same_doi_done[0].problem is None and same_id_done[0].problem is None


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_large_write_waits_for_every_local_write(store: Store) -> None:
    conn, tx = _holding_locks_of(store, [create("held", "10.5555/held")])
    try:
        big, big_done = _in_thread(
            store, [create(f"big-{n}", f"10.5555/big{n}") for n in range(40)]
        )
        big.join(0.5)
        assert big.is_alive()
    finally:
        tx.rollback()
        conn.close()
    big.join(30)
    assert len(big_done) == 40 and all(r.problem is None for r in big_done)


def _times_out(impatient: Store, write: LocalWrite, holding: tuple) -> None:
    """``write`` fails as a lock timeout while ``holding`` (a connection and its open
    transaction) keeps the locks it waits for; then the holder lets go."""
    conn, tx = holding
    try:
        with pytest.raises(OperationalError) as caught:
            impatient.write_local([write], actor="t")
        assert is_lock_timeout(caught.value)
    finally:
        tx.rollback()
        conn.close()


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_write_that_cannot_get_its_locks_in_time_is_a_lock_timeout(
    store: Store, db_url: str
) -> None:
    """With lock_timeout set, a deposit queued behind a conflicting one fails as a lock
    timeout (which the API answers with 503 and Retry-After), and stores nothing."""
    impatient = Store(create_store_engine(db_url + "%20-clock_timeout%3D200"))
    try:
        held = _holding_locks_of(store, [create("held", "10.5555/held")])
        _times_out(impatient, create("other", "10.5555/held"), held)
    finally:
        impatient.dispose()
    assert store.changes_since(0, 10) == []


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_write_that_cannot_append_to_the_change_log_in_time_stores_nothing(
    store: Store, db_url: str
) -> None:
    """The change-log lock is taken last, in one pipeline with the COMMIT: when it times
    out, the error is the lock timeout (503 at the API), the transaction is rolled back
    and the connection serves the next write."""
    from catalogue.store.records import _CHANGE_LOG_LOCK

    impatient = Store(create_store_engine(db_url + "%20-clock_timeout%3D200"))
    try:
        held = _holding_locks_of(store, [])
        held[0].exec_driver_sql(f"SELECT pg_advisory_xact_lock({_CHANGE_LOG_LOCK})")
        _times_out(impatient, create("late", "10.5555/late"), held)
        assert impatient.get_record_state("late") is None
        assert store.changes_since(0, 10) == []
        (done,) = impatient.write_local([create("late", "10.5555/late")], actor="t")
        assert done.problem is None
        assert [c.record_id for c in store.changes_since(0, 10)] == ["late"]
    finally:
        impatient.dispose()


def _hold_an_uncommitted_harvested_record(
    store: Store, source: str, source_id: str, written: threading.Event, release: threading.Event
) -> None:
    """Writes a harvested record in a transaction left open until ``release``: a harvest
    that has inserted its page but not yet committed."""
    from catalogue.model import record_id
    from catalogue.store import IncomingRecord

    item = IncomingRecord(source_id=source_id, metadata=meta("harvested", "10.1/held"))
    with store.engine.connect() as conn, conn.begin() as tx:
        plan = store._write_rows(conn, source, {record_id(source, source_id): item}, None, {})
        written.set()
        release.wait(30)
        store._log_and_commit(conn, tx, plan)


def _race(store: Store, write, source_id: str):
    """Runs ``write`` while another transaction holds an uncommitted insert of the record
    ``(alpha, source_id)``, committed 0.5 s later: the write's insert waits for it, then
    meets the committed row."""
    written, release = threading.Event(), threading.Event()
    holder = threading.Thread(
        target=_hold_an_uncommitted_harvested_record,
        args=(store, "alpha", source_id, written, release),
    )
    holder.start()
    try:
        assert written.wait(30)
        threading.Timer(0.5, release.set).start()
        return write()
    finally:
        release.set()
        holder.join(30)


def test_a_deposit_racing_a_harvest_for_its_id_is_a_conflict(store: Store) -> None:
    """The id is free when checked and taken before the insert: a 409, nothing stored."""
    from catalogue.model import record_id
    from catalogue.store import LocalWriteConflict

    if not store.is_postgres:
        pytest.skip("SQLite runs one writer at a time: the insert cannot meet another's")
    store.add_source("alpha", "oai", "https://alpha.example.org/oai")
    rid = record_id("alpha", "raced")
    last = store.last_seq()
    with pytest.raises(LocalWriteConflict):
        _race(store, lambda: store.write_local([create(rid, "10.1/mine")], actor="t"), "raced")
    assert store.get_record(rid).source == "alpha"  # the harvest's, untouched
    assert [c.record_id for c in store.changes_since(last, 10)] == [rid]


def test_a_harvest_page_racing_another_writer_of_its_records_retries(store: Store) -> None:
    """Two harvests of one source at once: the second page's insert meets the first's
    committed row, and the page is written again as an update."""
    from catalogue.model import record_id
    from catalogue.store import IncomingRecord, Outcome

    if not store.is_postgres:
        pytest.skip("SQLite runs one writer at a time: the insert cannot meet another's")
    store.add_source("alpha", "oai", "https://alpha.example.org/oai")
    item = IncomingRecord(source_id="twice", metadata=meta("second harvest", "10.1/second"))
    outcomes = _race(store, lambda: store.upsert_page("alpha", [item]), "twice")
    assert outcomes == [(record_id("alpha", "twice"), Outcome.UPDATED)]
    stored = store.get_record(record_id("alpha", "twice"))
    assert stored.metadata["titles"] == [{"title": "second harvest"}]


def test_a_reader_following_the_change_log_misses_no_concurrent_write(store: Store) -> None:
    """Deposits and harvest pages commit side by side while a reader follows the change
    log as the indexer does (every change past the last sequence it has seen): a change
    whose sequence number became visible after a larger one would be skipped for good."""
    from catalogue.store import IncomingRecord

    done = threading.Event()
    seen: list[str] = []

    def follow() -> None:
        last = 0
        while True:
            finished = done.is_set()
            changes = store.changes_since(last, 1000)
            seen.extend(c.record_id for c in changes)
            last = changes[-1].seq if changes else last
            if finished and not changes:
                return
            time.sleep(0.002)  # as the indexer polls (on SQLite, a reader in a busy loop
            # keeps the writers sleeping in their busy handler)

    def deposit(n: int) -> list[str]:
        results = store.write_local([create(f"dep-{n}", f"10.5555/dep-{n}")], actor="t")
        return [r.rid for r in results]

    def harvest(n: int) -> list[str]:
        page = [IncomingRecord(f"h{n}-{i}", meta(f"h{n}-{i}", f"10.1/h{n}-{i}")) for i in range(3)]
        return [rid for rid, _ in store.upsert_page("alpha", page)]

    reader = threading.Thread(target=follow)
    reader.start()
    try:
        with ThreadPoolExecutor(6) as pool:
            futures = [pool.submit(deposit if n % 3 else harvest, n) for n in range(90)]
            written = [rid for future in futures for rid in future.result()]
    finally:
        done.set()
        reader.join(60)
    assert len(written) == 60 + 30 * 3
    assert sorted(seen) == sorted(written)
