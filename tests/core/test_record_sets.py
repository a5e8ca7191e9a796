"""The ``record_sets`` rows the OAI-PMH provider pages sets with (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import column, create_engine, insert, select, table

from catalogue.migrate import upgrade
from catalogue.model import record_id, set_specs
from catalogue.store import IncomingRecord, Store
from catalogue.tables import RecordSetRow

OLD_RECORDS = table(
    "records",
    *map(column, ["id", "source", "source_id", "datestamp", "created_at", "deleted"]),
    *map(column, ["sets", "metadata", "content_hash"]),
)


def rows(store: Store) -> dict[str, list[tuple[str, object]]]:
    with store.engine.connect() as conn:
        t = RecordSetRow.__table__
        found = conn.execute(
            select(t.c.record_id, t.c.spec, t.c.datestamp).order_by(t.c.record_id, t.c.spec)
        ).all()
    by_record: dict[str, list[tuple[str, object]]] = {}
    for rid, spec, stamp in found:
        by_record.setdefault(rid, []).append((spec, stamp))
    return by_record


def item(sid: str, kind: str = "Dataset", sets: tuple[str, ...] = ("source:s",), **kw):
    meta = {"titles": [{"title": sid}], "types": {"resourceTypeGeneral": kind}}
    return IncomingRecord(source_id=sid, metadata=meta, sets=list(sets), **kw)


def test_set_specs_add_ancestors_and_the_type() -> None:
    specs = set_specs(["source:zen:user-a:b"], {"types": {"resourceTypeGeneral": "Software"}})
    assert specs == [
        "source",
        "source:zen",
        "source:zen:user-a",
        "source:zen:user-a:b",
        "type",
        "type:Software",
    ]
    assert set_specs([], {}) == []


def test_rows_follow_inserts_updates_and_tombstones(store: Store) -> None:
    rid = record_id("s", "a")
    store.upsert_page("s", [item("a", sets=("source:s", "source:s:x"))])
    first = rows(store)[rid]
    assert [spec for spec, _ in first] == ["source:s", "source:s:x", "type:Dataset"]
    record = store.get_record(rid)
    assert {stamp for _, stamp in first} == {record.datestamp}

    store.upsert_page("s", [item("a", kind="Software")])
    assert [spec for spec, _ in rows(store)[rid]] == ["source:s", "type:Software"]

    store.mark_deleted("s", ["a"])
    after = rows(store)[rid]
    tombstone = store.get_record(rid)
    assert [spec for spec, _ in after] == ["source:s", "type:Software"], "tombstones keep sets"
    assert {stamp for _, stamp in after} == {tombstone.datestamp}


def test_remove_source_restamps_set_rows(store: Store) -> None:
    store.add_source("s", "oai", "https://example.org/oai")
    store.upsert_page("s", [item("a"), item("b")])
    store.remove_source("s")
    for rid in (record_id("s", "a"), record_id("s", "b")):
        stamps = {stamp for _, stamp in rows(store)[rid]}
        assert stamps == {store.get_record(rid).datestamp}


def test_migration_backfills_sets_of_existing_records(db_url: str) -> None:
    engine = create_engine(db_url)
    upgrade(engine, "0001")
    with engine.begin() as conn:
        conn.execute(
            insert(OLD_RECORDS),
            {
                "id": "r1",
                "source": "z",
                "source_id": "1",
                "datestamp": datetime(2024, 1, 1),
                "created_at": datetime(2024, 1, 1),
                "deleted": False,
                "sets": '["source:z", "source:z:c"]',
                "metadata": '{"types": {"resourceTypeGeneral": "Image"}}',
                "content_hash": "x",
            },
        )
    upgrade(engine)
    store = Store(engine)
    assert [spec for spec, _ in rows(store)["r1"]] == ["source:z", "source:z:c", "type:Image"]
    engine.dispose()
