"""OAI-PMH harvests against the fault-injecting server: every survivable fault survived with
nothing lost or stored twice, and every endless or hostile behaviour ended in bounded time."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from catalogue.store import Store
from catalogue.tables import RecordRow
from harvester.harvest import harvest_source
from harvester.messages import MAX_MESSAGE_CHARS
from tests.faults.conftest import fast_settings
from tests.faults.oai_faults import SURVIVABLE, Fault


def stored_ids(store: Store, key: str) -> list[str]:
    """The source ids stored for ``key``, one per row (duplicates would show twice)."""
    with store.engine.connect() as conn:
        return sorted(
            conn.execute(select(RecordRow.source_id).where(RecordRow.source == key)).scalars()
        )


def expected(n: int) -> list[str]:
    return sorted(f"oai:faults:{i}" for i in range(n))


def add(store: Store, url: str, key: str = "f", **config) -> None:
    store.add_source(key, "oai", url, metadata_prefix="oai_dc", config=config)


@pytest.mark.parametrize("fault", SURVIVABLE, ids=lambda f: f.name.replace(" ", "-"))
def test_each_survivable_fault_mid_list_loses_nothing(fault, fault_server, sqlite_store,
                                                      tmp_path: Path) -> None:  # fmt: skip
    server = fault_server(60, 10)
    add(sqlite_store, server.url)
    harvest_source(sqlite_store, "f", fast_settings(tmp_path), full=True)
    server.inject(fault, fault)  # the next two list requests: the middle of a list
    sqlite_store.update_source("f", harvest_from=None)
    server.repository.page_size = 7
    run = harvest_source(sqlite_store, "f", fast_settings(tmp_path), full=True)
    assert run.status == "succeeded", run.message
    assert stored_ids(sqlite_store, "f") == expected(60)
    assert run.counts.seen - run.counts.failed >= 60
    assert server.injected[fault.name] == 2


def test_thirty_percent_random_faults(fault_server, sqlite_store, tmp_path: Path) -> None:
    server = fault_server(300, 10, rate=0.3, seed=17)
    add(sqlite_store, server.url)
    run = harvest_source(sqlite_store, "f", fast_settings(tmp_path, max_retries=5), full=True)
    assert run.status == "succeeded", run.message
    assert stored_ids(sqlite_store, "f") == expected(300)
    assert sum(server.injected.values()) >= 5


def test_a_hang_past_the_timeout_is_retried(fault_server, sqlite_store, tmp_path) -> None:
    server = fault_server(30, 10, faults=[Fault("hang", seconds=3)])
    add(sqlite_store, server.url)
    started = time.monotonic()
    run = harvest_source(sqlite_store, "f", fast_settings(tmp_path, timeout=1), full=True)
    assert run.status == "succeeded", run.message
    assert stored_ids(sqlite_store, "f") == expected(30)
    assert time.monotonic() - started < 10


def test_a_trickled_body_hits_the_response_deadline(fault_server, sqlite_store, tmp_path):
    server = fault_server(30, 10, faults=[Fault("trickle", seconds=0.3)])
    add(sqlite_store, server.url)
    settings = fast_settings(tmp_path, timeout=1, response_timeout=2)
    started = time.monotonic()
    run = harvest_source(sqlite_store, "f", settings, full=True)
    elapsed = time.monotonic() - started
    assert run.status == "succeeded", run.message
    assert stored_ids(sqlite_store, "f") == expected(30)
    assert elapsed < 2 + 1 + 5  # the deadline, one read timeout, the rest of the list


def test_retry_after_waits_are_capped_by_the_settings(fault_server, sqlite_store, tmp_path):
    server = fault_server(30, 10, faults=[Fault("status", 503, retry_after="3")] * 5)
    add(sqlite_store, server.url)
    settings = fast_settings(tmp_path, timeout=1, max_retries=2)  # at most 2 s of waits
    started = time.monotonic()
    run = harvest_source(sqlite_store, "f", settings, full=True)
    assert run.status == "failed"
    assert "retry waits allowed" in run.message
    assert time.monotonic() - started < 2


def test_a_100_kb_oai_error_is_stored_short(fault_server, sqlite_store, tmp_path) -> None:
    server = fault_server(30, 10, faults=[Fault("huge_error")])
    add(sqlite_store, server.url)
    run = harvest_source(sqlite_store, "f", fast_settings(tmp_path), full=True)
    assert run.status == "failed"
    assert "badArgument" in run.message
    assert len(run.message) <= MAX_MESSAGE_CHARS
    assert len(sqlite_store.get_run(run.id).message) <= MAX_MESSAGE_CHARS


@pytest.mark.parametrize("behaviour", ["fresh_token", "fresh_token_empty"])
def test_a_fresh_token_on_every_page_ends_the_run(behaviour, fault_server, sqlite_store,
                                                  tmp_path) -> None:  # fmt: skip
    server = fault_server(30, 10, behaviours=[behaviour])
    add(sqlite_store, server.url)
    run = harvest_source(sqlite_store, "f", fast_settings(tmp_path), full=True)
    assert run.status == "failed"
    assert "stopped" in run.message
    assert len(server.list_requests()) <= 25


def test_a_repeated_record_is_stored_once(fault_server, sqlite_store, tmp_path) -> None:
    server = fault_server(50, 10, behaviours=["repeat_record"])
    add(sqlite_store, server.url)
    run = harvest_source(sqlite_store, "f", fast_settings(tmp_path), full=True)
    assert run.status == "succeeded", run.message
    assert stored_ids(sqlite_store, "f") == expected(50)
    assert run.counts.added == 50


def test_a_refused_token_mid_list_lists_again_from_the_last_datestamp(
    fault_server, sqlite_store, tmp_path
) -> None:
    server = fault_server(100, 10)
    add(sqlite_store, server.url)
    for _ in range(4):  # the fifth page's token is refused
        server.queue.append(Fault("control"))
    server.queue.append(Fault("bad_token"))
    run = harvest_source(sqlite_store, "f", fast_settings(tmp_path), full=True)
    assert run.status == "succeeded", run.message
    assert stored_ids(sqlite_store, "f") == expected(100)
    warnings = [e.reason for e in sqlite_store.run_errors(run.id) if "token refused" in e.reason]
    assert len(warnings) == 1
    restart = [q for q in server.list_requests() if "from" in q]
    assert len(restart) == 1 and restart[0]["from"] > "2020-01-01"
    assert len(server.list_requests()) <= 10 + 3  # not the whole list again


def test_a_provider_ignoring_from_until_is_filtered(fault_server, sqlite_store, tmp_path):
    # 35 days of records up to about now: six weekly windows, each sent the whole list
    start = datetime.now(UTC).replace(tzinfo=None) - timedelta(days=36)
    server = fault_server(120, 20, start=start, behaviours=["ignore_dates"])
    add(sqlite_store, server.url, window="week")
    run = harvest_source(sqlite_store, "f", fast_settings(tmp_path), full=True)
    assert run.status == "succeeded", run.message
    assert stored_ids(sqlite_store, "f") == expected(120)
    assert run.counts.added == 120 and run.counts.unchanged == 0
    reasons = [e.reason for e in sqlite_store.run_errors(run.id)]
    assert any("ignores from/until" in r for r in reasons)


def test_windows_each_list_once_and_a_failed_window_is_retried_alone(
    fault_server, sqlite_store, tmp_path
) -> None:
    # 35 days of records (one every 7 hours) ending 5 days ago: two or three month windows
    start = datetime.now(UTC).replace(tzinfo=None, microsecond=0) - timedelta(days=40)
    server = fault_server(120, 50, start=start)
    add(sqlite_store, server.url, window="month")
    second = (start.replace(day=1) + timedelta(days=32)).strftime("%Y-%m-01")
    settings = fast_settings(tmp_path, max_retries=3)
    original = server._fault_for
    calls = {"n": 0}

    def fail_second_window(query):
        fault = original(query)
        if query.get("verb") == "ListRecords" and query.get("from", "").startswith(second):
            calls["n"] += 1
            if calls["n"] <= 4:  # the window's first list fails for good (4 tries)
                return Fault("status", 500)
        return fault

    server._fault_for = fail_second_window
    run = harvest_source(sqlite_store, "f", settings, full=True)
    assert run.status == "succeeded", run.message
    assert stored_ids(sqlite_store, "f") == expected(120)
    froms = [q["from"][:10] for q in server.list_requests() if "from" in q]
    assert froms.count(start.strftime("%Y-%m-%d")) == 1  # the first window: listed once
    assert froms.count(second) == 5  # 4 failures, then the retry alone
    assert any("listing it again alone" in e.reason for e in sqlite_store.run_errors(run.id))


def test_a_failed_run_is_resumed_from_its_checkpoint(fault_server, sqlite_store, tmp_path):
    server = fault_server(100, 10)
    add(sqlite_store, server.url)
    settings = fast_settings(tmp_path, max_retries=1)
    server.inject(*[Fault("control")] * 4, Fault("status", 500), Fault("status", 500))
    first = harvest_source(sqlite_store, "f", settings, full=True)
    assert first.status == "failed"
    assert len(stored_ids(sqlite_store, "f")) == 40
    before = len(server.list_requests())
    second = harvest_source(sqlite_store, "f", settings, full=True)
    assert second.status == "succeeded", second.message
    assert stored_ids(sqlite_store, "f") == expected(100)
    requests = server.list_requests()[before:]
    assert "resumptionToken" in requests[0]  # from the checkpoint, not from the start
    assert len(requests) == 6  # pages 5 to 10
    assert second.counts.added == 60 and second.counts.unchanged == 0
    assert sqlite_store.load_checkpoint("f") is None


def test_an_expired_checkpoint_token_falls_back_to_its_datestamp(
    fault_server, sqlite_store, tmp_path
) -> None:
    server = fault_server(100, 10)
    add(sqlite_store, server.url)
    settings = fast_settings(tmp_path, max_retries=1)
    server.inject(*[Fault("control")] * 4, Fault("status", 500), Fault("status", 500))
    assert harvest_source(sqlite_store, "f", settings, full=True).status == "failed"
    server.inject(Fault("bad_token"))
    before = len(server.list_requests())
    second = harvest_source(sqlite_store, "f", settings, full=True)
    assert second.status == "succeeded", second.message
    assert stored_ids(sqlite_store, "f") == expected(100)
    requests = server.list_requests()[before:]
    assert "resumptionToken" in requests[0] and requests[1]["from"] > "2020-01-01"
    assert len(requests) <= 8


def test_records_once_on_postgresql_too(fault_server, store, tmp_path) -> None:
    server = fault_server(80, 10, rate=0.3, seed=5)
    add(store, server.url)
    run = harvest_source(store, "f", fast_settings(tmp_path, max_retries=5), full=True)
    assert run.status == "succeeded", run.message
    assert stored_ids(store, "f") == expected(80)
    with store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(RecordRow)).scalar() == 80


def test_a_checkpoint_of_other_lists_is_not_resumed(fault_server, sqlite_store, tmp_path):
    server = fault_server(100, 10)
    add(sqlite_store, server.url)
    settings = fast_settings(tmp_path, max_retries=1)
    server.inject(*[Fault("control")] * 4, Fault("status", 500), Fault("status", 500))
    assert harvest_source(sqlite_store, "f", settings, full=True).status == "failed"
    run_id, state = sqlite_store.load_checkpoint("f")
    state["extra"]["lists"]["prefix"] = "oai_datacite"  # as if the source's prefix changed
    sqlite_store.save_checkpoint("f", run_id, state)
    before = len(server.list_requests())
    second = harvest_source(sqlite_store, "f", settings, full=True)
    assert second.status == "succeeded", second.message
    requests = server.list_requests()[before:]
    assert "resumptionToken" not in requests[0] and "from" not in requests[0]
    assert len(requests) == 10
    assert stored_ids(sqlite_store, "f") == expected(100)
