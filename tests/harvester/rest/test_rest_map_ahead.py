"""REST pages mapped in a worker process (harvester.map_ahead) store exactly what mapping in
the harvest process stores: real B2SHARE records, a draft, one that fails to map."""

from __future__ import annotations

from datetime import datetime, timedelta

from rest_servers import B2ShareApp, b2share_record, load_fixture

from catalogue.store import Store
from catalogue.store.write_plan import prepare_record
from harvester import map_ahead
from harvester.harvest import harvest_source
from harvester.map_ahead import LOCAL, MapFailed
from harvester.rest.run import map_rest_payloads
from mappings.b2share import from_b2share

REAL = ("record_all_metadata_fields.json", "record_published_bbmri_trng.json",
        "record_in_community.json", "record_from_search_hits.json")  # fmt: skip


def _snapshot(store: Store, key: str, run) -> dict:
    records = sorted(
        (
            r.source_id,
            r.metadata,
            [s.replace(key, "KEY") for s in r.sets],
            r.deleted,
            r.source_datestamp,
            store.get_raw(r.id),
        )
        for r in store.iter_records(include_deleted=True)
        if r.source == key
    )
    errors = sorted(
        (e.source_id or "", e.stage, e.severity, e.reason) for e in store.run_errors(run.id)
    )
    return {"counts": run.counts, "records": records, "errors": errors}


def test_worker_mapping_stores_exactly_what_local_mapping_stores(
    db_url: str, api, rest_settings, monkeypatch
):
    hits = [load_fixture(f"b2share/{name}") for name in REAL]
    hits += [b2share_record(i, datetime(2020, 1, 1) + timedelta(hours=i)) for i in range(23)]
    hits[7]["metadata"] = "not an object"
    server = api(B2ShareApp(hits))
    pools = []

    class RecordedPool(map_ahead.ProcessPoolExecutor):
        def submit(self, *args, **kwargs):
            pools.append(self)
            return super().submit(*args, **kwargs)

    monkeypatch.setattr(map_ahead, "ProcessPoolExecutor", RecordedPool)
    snapshots = []
    for min_page in (10**9, 1):  # in this process; then every page in the worker
        monkeypatch.setattr(map_ahead, "MIN_PAGE", min_page)
        monkeypatch.setattr(map_ahead, "MIN_REMAINING", 0)
        monkeypatch.setattr(map_ahead, "WAIT_FOR_WORKER", True)
        store = Store(db_url)
        store.migrate()
        key = f"b{min_page}"
        store.add_source(key, "b2share", server.url(), config={"page_size": 4})
        run = harvest_source(store, key, rest_settings)
        assert run.status == "succeeded", run.message
        snapshots.append(_snapshot(store, key, run))
        # harvested again in this process: the same content hashes, so nothing changes
        monkeypatch.setattr(map_ahead, "MIN_PAGE", 10**9)
        again = harvest_source(store, key, rest_settings, full=True)
        assert again.counts.unchanged == run.counts.added
        store.dispose()
    local, worker = snapshots
    assert local["counts"].failed == 1 and local["counts"].added == len(hits) - 2  # and a draft
    assert pools  # the second harvest mapped in the worker
    assert worker == local


def test_map_rest_payloads_reports_each_record_as_the_harvest_process_would():
    hit = load_fixture("b2share/record_in_community.json")
    raw = b'{"raw": 1}'
    results = map_rest_payloads(
        [
            (from_b2share, hit, prepare_record, raw),
            None,
            (from_b2share, {"metadata": 1}, None, None),
        ]
    )
    metadata, warnings = from_b2share(hit)
    assert results[0] == (None, warnings, prepare_record(metadata, raw))
    assert map_rest_payloads([(from_b2share, hit, None, raw)])[0] == (metadata, warnings, None)
    assert results[1] == LOCAL
    assert isinstance(results[2], MapFailed) and results[2].reason == _reason({"metadata": 1})


def _reason(payload) -> str:
    try:
        from_b2share(payload)
    except Exception as exc:  # noqa: BLE001
        return f"{type(exc).__name__}: {exc}"
    raise AssertionError("expected a mapping failure")
