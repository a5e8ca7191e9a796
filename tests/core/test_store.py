"""Store behaviour on SQLite and PostgreSQL (the `store` fixture runs each test on both)."""

from __future__ import annotations

import threading
from datetime import datetime

import pytest

from catalogue.model import record_id
from catalogue.store import IncomingRecord, Outcome, RunCounts, RunError, SourceExists, Store


def md(title: str, doi: str | None = None) -> dict:
    meta = {"titles": [{"title": title}], "types": {"resourceTypeGeneral": "Dataset"}}
    if doi:
        meta["identifiers"] = [{"identifier": doi, "identifierType": "DOI"}]
    return meta


def incoming(sid: str, title: str = "t", **kw) -> IncomingRecord:
    return IncomingRecord(
        source_id=sid, metadata=md(title), raw=b"<dc/>", raw_format="oai_dc", **kw
    )


def outcomes(results) -> list[str]:
    return [o.value for _, o in results]


def test_sources_crud(store: Store) -> None:
    store.add_source("zen", "oai", "https://zenodo.org/oai2d", metadata_prefix="oai_dc", sets=["a"])
    with pytest.raises(SourceExists):
        store.add_source("zen", "oai", "https://example.org")
    src = store.get_source("zen")
    assert (src.url, src.metadata_prefix, src.sets) == ("https://zenodo.org/oai2d", "oai_dc", ["a"])
    store.update_source("zen", harvest_from=datetime(2024, 1, 2, 3, 4, 5), granularity="YYYY-MM-DD")
    assert store.get_source("zen").harvest_from == datetime(2024, 1, 2, 3, 4, 5)
    assert [s.key for s in store.list_sources()] == ["zen"]


def test_upsert_is_idempotent_and_logs_changes_once(store: Store) -> None:
    page = [incoming("a", "A"), incoming("b", "B")]
    assert outcomes(store.upsert_page("s", page)) == ["added", "added"]
    seq = store.last_seq()
    assert seq == 2
    assert outcomes(store.upsert_page("s", page)) == ["unchanged", "unchanged"]
    assert store.last_seq() == seq, "an unchanged page must not touch the change log"
    assert outcomes(store.upsert_page("s", [incoming("a", "A2")])) == ["updated"]
    assert [c.op for c in store.changes_since(seq)] == ["upsert"]
    assert store.get_record(record_id("s", "a")).metadata["titles"][0]["title"] == "A2"


def test_repeated_record_in_one_page_keeps_the_last_copy(store: Store) -> None:
    results = store.upsert_page("s", [incoming("a", "first"), incoming("a", "second")])
    assert outcomes(results) == ["added"]
    assert store.get_record(record_id("s", "a")).metadata["titles"][0]["title"] == "second"


def test_deletion_makes_a_tombstone_and_resurrection_updates(store: Store) -> None:
    store.upsert_page("s", [incoming("a"), incoming("b")])
    deleted = IncomingRecord(source_id="a", metadata=None, deleted=True)
    assert outcomes(store.upsert_page("s", [deleted])) == ["deleted"]
    assert outcomes(store.upsert_page("s", [deleted])) == ["unchanged"]
    rec = store.get_record(record_id("s", "a"))
    assert rec.deleted and rec.metadata["titles"], "tombstones keep their last metadata"
    assert store.count_records() == 1 and store.count_records(deleted=True) == 1
    assert store.changes_since(0)[-1].op == "delete"
    assert outcomes(store.upsert_page("s", [incoming("a")])) == ["updated"]
    assert not store.get_record(record_id("s", "a")).deleted


def test_deleting_an_unknown_record_stores_nothing(store: Store) -> None:
    ghost = IncomingRecord(source_id="never-seen", metadata=None, deleted=True)
    assert outcomes(store.upsert_page("s", [ghost])) == ["unchanged"]
    assert store.get_record(record_id("s", "never-seen")) is None
    assert store.last_seq() == 0


def test_raw_payload_round_trips_compressed(store: Store) -> None:
    raw = b"<oai_dc:dc>" + "caf\u00e9 ".encode() * 1000 + b"</oai_dc:dc>"
    [(rid, _)] = store.upsert_page(
        "s", [IncomingRecord("a", md("x"), raw=raw, raw_format="oai_dc")]
    )
    assert store.get_raw(rid) == ("oai_dc", raw)


def test_doi_column_and_metadata_json_survive(store: Store) -> None:
    meta = md("T\u00eftle \U0001f600", doi="10.5281/ZENODO.1")
    [(rid, _)] = store.upsert_page("s", [IncomingRecord("a", meta, sets=["x", "x", "b"])])
    rec = store.get_record(rid)
    assert rec.metadata == meta
    assert rec.sets == ["b", "x"]
    assert rec.datestamp.microsecond == 0


def test_remove_source_tombstones_its_records(store: Store) -> None:
    store.add_source("s", "oai", "http://x")
    store.upsert_page("s", [incoming("a"), incoming("b")])
    assert store.remove_source("s") == 2
    assert store.get_source("s") is None
    assert store.count_records() == 0 and store.count_records(deleted=True) == 2


def test_iter_records_pages_through_everything(store: Store) -> None:
    store.upsert_page("s", [incoming(str(i)) for i in range(25)])
    store.upsert_page("s", [IncomingRecord("3", None, deleted=True)])
    assert len(list(store.iter_records(batch=7))) == 24
    assert len(list(store.iter_records(batch=7, include_deleted=True))) == 25


def test_harvest_runs_and_errors(store: Store) -> None:
    run_id = store.start_run("s", "full")
    store.add_run_errors(run_id, [RunError("oai:x:1", "map", "no title")])
    counts = RunCounts(added=3, failed=1)
    run = store.finish_run(run_id, "succeeded", counts, response_date=datetime(2024, 5, 6))
    assert run.status == "succeeded" and run.counts.added == 3 and run.counts.failed == 1
    assert store.run_errors(run_id) == [RunError("oai:x:1", "map", "no title")]
    assert store.last_successful_run("s").id == run_id
    assert store.list_runs("s")[0].response_date == datetime(2024, 5, 6)


def test_concurrent_writers_keep_the_change_log_complete(store: Store) -> None:
    def writer(prefix: str) -> None:
        for n in range(10):
            store.upsert_page("s", [incoming(f"{prefix}{n}-{i}") for i in range(5)])

    threads = [threading.Thread(target=writer, args=(p,)) for p in "abc"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    changes = store.changes_since(0, limit=1000)
    assert len(changes) == 150
    assert [c.seq for c in changes] == sorted(c.seq for c in changes)
    assert len({c.record_id for c in changes}) == 150


def test_outcome_values_match_run_counts() -> None:
    counts = RunCounts()
    for outcome in Outcome:
        counts.add(outcome)
    assert counts.seen == len(Outcome)
