"""Mapping in a worker process (harvester.map_ahead): the same records, outcomes and error
rows as mapping in the harvest process, over real recorded repositories and a real store."""

from __future__ import annotations

import os
from datetime import datetime

import pytest

from catalogue.demo.replay import load_datacite_examples, load_recorded
from catalogue.store import Store
from catalogue.store.write_plan import prepare_record
from harvester import map_ahead
from harvester.harvest import harvest_source
from harvester.map_ahead import LOCAL, MapAhead, MapFailed
from harvester.oai_run import map_raw_payloads
from mappings.formats import map_payload
from mappings.xml import parse_xml


def _snapshot(store: Store, key: str, run) -> dict:
    # the record ids and sets carry the source key: compared by source id, sets without it
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


@pytest.mark.parametrize(
    "repository",
    [
        lambda: load_recorded("zenodo", page_size=25),
        lambda: load_recorded("dspace", page_size=10),
        lambda: load_recorded("sickle", page_size=1),
        lambda: load_datacite_examples(page_size=7),
    ],
    ids=["zenodo", "dspace", "sickle", "datacite"],
)
def test_worker_mapping_stores_exactly_what_local_mapping_stores(
    db_url: str, serve, settings, monkeypatch, repository, make_record
):
    repo = repository()
    prefix = max(repo.records, key=lambda p: len(repo.records[p]))
    # one record that fails to map, one bare payload of another namespace
    repo.add(
        prefix,
        make_record("oai:test:odd-one", datetime(2020, 2, 1), payload='<x:thing xmlns:x="urn:x"/>'),
    )
    server = serve({"/oai": repo})
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
        key = f"s{min_page}"
        store.add_source(key, "oai-pmh", server.url("/oai"), metadata_prefix=prefix)
        run = harvest_source(store, key, settings)
        assert run.status == "succeeded", run.message
        snapshots.append(_snapshot(store, key, run))
        # harvested again in this process: the same content hashes, so nothing changes
        monkeypatch.setattr(map_ahead, "MIN_PAGE", 10**9)
        again = harvest_source(store, key, settings, full=True)
        assert again.counts.unchanged == run.counts.seen - run.counts.failed
        store.dispose()
    local, worker = snapshots
    assert local["counts"].failed >= 1 and local["counts"].seen >= 3
    assert pools  # the second harvest mapped in the worker
    assert worker == local


def test_map_raw_payloads_reports_each_record_as_the_harvest_process_would():
    good = (
        b'<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" '
        b'xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>T</dc:title></oai_dc:dc>'
    )
    raws = [good, None, b'<x:thing xmlns:x="urn:x"/>', b"<broken"]
    results = map_raw_payloads([(prepare_record, r) if r else None for r in raws])
    metadata, warnings = map_payload(parse_xml(good))
    assert metadata["titles"][0]["title"] == "T"
    # with the store's preparer, its own work is done there, and the metadata stays there
    assert results[0] == (None, warnings, prepare_record(metadata, good))
    assert map_raw_payloads([(None, good)])[0] == (metadata, warnings, None)
    assert results[1] == LOCAL  # nothing to map there: the harvest process decides
    assert isinstance(results[2], MapFailed) and results[2].reason.startswith("MappingError: ")
    assert "urn:x" in results[2].reason
    assert results[3] == LOCAL  # not re-parseable: mapped in the harvest process


def _double(batch: list[int]) -> list[int]:
    return [2 * n for n in batch]


def _die(batch: list[int]) -> list[int]:
    os._exit(3)


def _pages(count: int, fail_at: int | None = None):
    for n in range(count):
        if n == fail_at:
            raise RuntimeError(f"page {n} failed")
        yield list(range(n * 200, n * 200 + 200))


@pytest.fixture
def waiting(monkeypatch):
    """Pages wait for the worker to start, so every large page is mapped there."""
    monkeypatch.setattr(map_ahead, "WAIT_FOR_WORKER", True)


def test_map_ahead_keeps_page_order_and_maps_in_the_worker(waiting):
    with MapAhead(_double, list, lambda page: None) as ahead:
        out = list(ahead(_pages(4)))
    assert [page for page, _ in out] == list(_pages(4))
    assert [results for _, results in out] == [_double(page) for page in _pages(4)]


def test_pages_are_mapped_here_while_the_worker_starts():
    with MapAhead(_double, list, lambda page: None) as ahead:
        out = list(ahead(_pages(6)))
    assert [page for page, _ in out] == list(_pages(6))
    assert out[0][1] is None  # no worker is ready at once: mapped here
    assert all(results in (None, _double(page)) for page, results in out)


def test_short_lists_and_small_pages_are_mapped_here(waiting):
    with MapAhead(_double, list, lambda page: 400) as ahead:
        assert [r for _, r in ahead(_pages(2))] == [None, None]  # 400 records: no worker
        assert ahead.pool is None
    with MapAhead(_double, lambda page: page[:5], lambda page: None) as ahead:
        assert [r for _, r in ahead(_pages(2))] == [None, None]  # below MIN_PAGE
        assert ahead.pool is None


def test_a_failing_page_still_hands_over_the_page_read_before_it(waiting):
    with MapAhead(_double, list, lambda page: None) as ahead:
        pages = ahead(_pages(5, fail_at=2))
        handed = [next(pages), next(pages)]
        with pytest.raises(RuntimeError, match="page 2 failed"):
            next(pages)
    assert [results for _, results in handed] == [_double(p) for p in list(_pages(2))]


def test_a_dead_worker_leaves_the_mapping_to_the_harvest_process(waiting):
    with MapAhead(_die, list, lambda page: None) as ahead:
        out = list(ahead(_pages(3)))
    assert [page for page, _ in out] == list(_pages(3))
    assert [results for _, results in out] == [None, None, None]
    assert ahead.broken
