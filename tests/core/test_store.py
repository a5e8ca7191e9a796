"""Store behaviour on SQLite and PostgreSQL (the `store` fixture runs each test on both)."""

from __future__ import annotations

import hashlib
import json
import threading
from datetime import datetime

import pytest
from sqlalchemy import text

from catalogue.model import Record, content_hash, record_id
from catalogue.store import (
    IncomingRecord,
    Outcome,
    RunCounts,
    RunError,
    SourceExists,
    Store,
    StoredRecord,
)


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


def test_content_hash_definition_is_unchanged() -> None:
    """Stores written by earlier versions must not see every record as changed."""
    meta = {"titles": [{"title": "T\u00eftle \U0001f600"}], "a": [1, 2.5, None, True]}
    h = hashlib.sha256()
    h.update(json.dumps(meta, sort_keys=True, separators=(",", ":")).encode())
    h.update(json.dumps(["s:a", "s:b"]).encode())
    h.update(b"L")
    h.update(hashlib.sha256(b"<dc/>").digest())
    assert content_hash(meta, ["s:b", "s:a"], False, b"<dc/>") == h.hexdigest()


def stored_row(store: Store, rid: str) -> dict:
    with store.engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT r.content_hash, p.sha256 FROM records r"
                " JOIN raw_payloads p ON p.record_id = r.id WHERE r.id = :id"
            ),
            {"id": rid},
        )
        return dict(row.one()._mapping)


def test_stored_hash_covers_what_is_stored(store: Store) -> None:
    meta = md("T\u00eftle \U0001f600", doi="10.1/X")
    raw = b"<oai_dc:dc>caf\xc3\xa9</oai_dc:dc>"
    item = IncomingRecord("a", meta, sets=["x", "b", "x"], raw=raw, raw_format="oai_dc")
    [(rid, _)] = store.upsert_page("s", [item])
    row = stored_row(store, rid)
    assert row["content_hash"] == content_hash(meta, ["x", "b", "x"], False, raw)
    assert row["sha256"] == hashlib.sha256(raw).hexdigest()
    record = store.get_records([rid])[rid]
    assert record.metadata == meta and record.sets == ["b", "x"]
    assert json.loads(record.metadata_json) == meta


def test_update_keeps_the_payload_unless_a_new_one_comes(store: Store) -> None:
    [(rid, _)] = store.upsert_page("s", [IncomingRecord("a", md("v1"), raw=b"<v1/>")])
    assert outcomes(store.upsert_page("s", [IncomingRecord("a", md("v2"))])) == ["updated"]
    assert store.get_raw(rid) == ("unknown", b"<v1/>")
    page = [IncomingRecord("a", md("v3"), raw=b"<v3/>", raw_format="oai_dc")]
    assert outcomes(store.upsert_page("s", page)) == ["updated"]
    assert store.get_raw(rid) == ("oai_dc", b"<v3/>")


def test_pages_larger_than_one_lookup_chunk(store: Store) -> None:
    page = [incoming(f"r{i}", f"title {i}") for i in range(1234)]
    assert set(outcomes(store.upsert_page("s", page))) == {"added"}
    assert set(outcomes(store.upsert_page("s", page))) == {"unchanged"}
    changed = [
        IncomingRecord(f"r{i}", md(f"new title {i}"), raw=f"<dc>{i}</dc>".encode())
        for i in range(1234)
    ]
    assert set(outcomes(store.upsert_page("s", changed))) == {"updated"}
    assert store.get_raw(record_id("s", "r1000")) == ("unknown", b"<dc>1000</dc>")
    gone = [IncomingRecord(f"r{i}", None, deleted=True) for i in range(1234)]
    assert set(outcomes(store.upsert_page("s", gone))) == {"deleted"}
    assert store.count_records() == 0 and store.last_seq() == 3 * 1234


def test_bulk_reads_are_records_with_their_metadata_text(store: Store) -> None:
    store.upsert_page("s", [incoming("a", "A"), incoming("b", "B")])
    store.mark_deleted("s", ["b"])
    ids = [record_id("s", "a"), record_id("s", "b"), record_id("s", "missing")]
    found = store.get_records(ids)
    assert sorted(found) == sorted(ids[:2])
    assert found[ids[1]].deleted and not found[ids[0]].deleted
    for rec in [*found.values(), *store.iter_records(include_deleted=True)]:
        assert isinstance(rec, StoredRecord) and isinstance(rec, Record)
        assert json.loads(rec.metadata_json) == rec.metadata
        plain = store.get_record(rec.id)
        assert plain.as_dict() == rec.as_dict()


def test_outcome_values_match_run_counts() -> None:
    counts = RunCounts()
    for outcome in Outcome:
        counts.add(outcome)
    assert counts.seen == len(Outcome)


def test_migrations_build_exactly_the_models_schema(store: Store) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from catalogue.tables import Base

    with store.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []


@pytest.mark.parametrize("size", [0, 10, 1500, 16384, 16385, 300_000])
def test_raw_compression_round_trips_at_every_size(size: int) -> None:
    import os
    import zlib

    from catalogue.store import compress_raw

    raw = (b"<dc:title>ocean</dc:title>" * (size // 26 + 1))[:size] + os.urandom(size // 10)
    assert zlib.decompress(compress_raw(raw)) == raw


def test_two_writers_of_the_same_new_records_both_succeed(store: Store) -> None:
    page = [incoming(f"same-{i}") for i in range(300)]
    results: list[list[str]] = []
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            results.append(outcomes(store.upsert_page("s", page)))
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=writer) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert store.count_records() == 300
    assert sorted(o for r in results for o in r).count("added") == 300
