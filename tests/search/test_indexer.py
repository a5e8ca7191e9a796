"""The indexer following the store's change log (SQLite and PostgreSQL stores)."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from catalogue.config import SettingsError, load_settings
from catalogue.search.base import SearchError, SearchQuery
from catalogue.search.cluster import ClusterSettings
from catalogue.search.embedded import META_FILE, TantivyIndex
from catalogue.search.indexer import Indexer, catch_up_if_free, open_index
from catalogue.store import IncomingRecord, Store

from .synthetic import fill_store, synthetic_metadata

N = 200


def hit_ids(index: TantivyIndex, q: str = "", size: int = 500) -> list[str]:
    return [h["id"] for h in index.search(SearchQuery(q=q, size=size, facets=False)).hits]


@pytest.fixture
def index(open_index) -> TantivyIndex:
    return open_index()


def test_apply_indexes_change_log_in_batches(store: Store, index: TantivyIndex) -> None:
    fill_store(store, N)
    indexer = Indexer(store, index)
    assert indexer.apply(batch=150) == 150
    assert index.count() == 150
    assert index.checkpoint() == 150
    assert indexer.apply(batch=150) == 50
    assert indexer.apply(batch=150) == 0
    assert index.count() == N
    assert index.checkpoint() == store.last_seq()
    assert sorted(hit_ids(index)) == sorted(r.id for r in store.iter_records())


def test_a_batch_spans_several_chunks(
    store: Store, index: TantivyIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    from catalogue.search import indexer as indexer_module

    monkeypatch.setattr(indexer_module, "CHUNK", 7)
    fill_store(store, 40)
    indexer = Indexer(store, index)
    indexer.catch_up()
    store.mark_deleted("alpha", [f"rec-{i}" for i in range(0, 40, 6)])
    md = synthetic_metadata(3)
    md["titles"] = [{"title": "Renamed dataset about volcanoes"}]
    store.upsert_page("beta", [IncomingRecord("rec-3", md)])
    assert indexer.apply(batch=1000) == 7 + 1
    assert index.count() == 40 - 7
    assert index.checkpoint() == store.last_seq()
    assert len(hit_ids(index, "volcanoes")) == 1
    assert sorted(hit_ids(index)) == sorted(r.id for r in store.iter_records())


def test_a_stop_half_way_commits_the_records_done_at_an_exact_position(
    store: Store, index: TantivyIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    from catalogue.search import indexer as indexer_module

    monkeypatch.setattr(indexer_module, "CHUNK", 7)
    fill_store(store, 40)
    store.upsert_page("beta", [IncomingRecord("rec-3", synthetic_metadata(99))])  # a 2nd change
    changes = store.changes_since(0, 1000)
    assert len(changes) == 41
    stop = threading.Event()
    stop.set()  # SIGTERM during the batch: seen after its first chunk
    indexer = Indexer(store, index)
    assert indexer.apply(batch=1000, stop=stop) == 7
    assert index.checkpoint() == changes[6].seq and index.count() == 7
    assert indexer.catch_up(stop=stop) == 0
    assert indexer.catch_up() == 41 - 7  # the next start: the rest, nothing skipped
    assert index.checkpoint() == store.last_seq()
    assert sorted(hit_ids(index)) == sorted(r.id for r in store.iter_records())


def test_update_replaces_document(store: Store, index: TantivyIndex) -> None:
    fill_store(store, 10)
    indexer = Indexer(store, index)
    indexer.catch_up()
    md = synthetic_metadata(4)
    md["titles"] = [{"title": "Renamed dataset about volcanoes"}]
    [(rid, _)] = store.upsert_page("alpha", [IncomingRecord("rec-4", md)])
    assert indexer.catch_up() == 1
    assert index.count() == 10
    assert hit_ids(index, "volcanoes") == [rid]
    assert hit_ids(index, "+observations +0004") == []


def test_deletions_remove_hits(store: Store, index: TantivyIndex) -> None:
    fill_store(store, 20)
    indexer = Indexer(store, index)
    indexer.catch_up()
    assert store.mark_deleted("alpha", ["rec-0", "rec-2"]) == 2
    store.remove_source("beta")
    assert indexer.catch_up() == 2 + 10
    assert index.count() == 8
    assert index.search(SearchQuery(q="+observations +0002")).total == 0
    assert index.search(SearchQuery(filters={"source": ("beta",)})).total == 0


def test_changes_to_one_record_are_coalesced(store: Store, index: TantivyIndex) -> None:
    indexer = Indexer(store, index)
    for version in range(3):
        md = synthetic_metadata(1)
        md["titles"] = [{"title": f"Version {version}"}]
        store.upsert_page("alpha", [IncomingRecord("one", md)])
    store.upsert_page("alpha", [IncomingRecord("two", synthetic_metadata(2))])
    store.mark_deleted("alpha", ["two"])
    assert indexer.apply() == 5
    assert index.count() == 1
    assert index.search(SearchQuery(q="version 2")).total == 1


def test_replay_after_crash_is_idempotent(store: Store, open_index, tmp_path: Path) -> None:
    fill_store(store, N)
    index = open_index()
    Indexer(store, index).catch_up()
    before = sorted(hit_ids(index))
    index.close()
    # a crash between tantivy's commit and the checkpoint write leaves an older checkpoint
    meta_path = tmp_path / "index" / META_FILE
    meta = json.loads(meta_path.read_text())
    meta_path.write_text(json.dumps(dict(meta, checkpoint=0)))
    index = open_index()
    assert index.checkpoint() == 0
    assert Indexer(store, index).catch_up() == store.last_seq()
    assert index.count() == N
    assert sorted(hit_ids(index)) == before


def test_rebuild(store: Store, index: TantivyIndex) -> None:
    fill_store(store, N)
    store.mark_deleted("alpha", ["rec-0"])
    index.upsert([dict(_stray_doc(), id="stray")])
    index.commit(0)
    indexer = Indexer(store, index)
    assert indexer.rebuild(batch=64) == N - 1
    assert index.count() == N - 1
    assert "stray" not in hit_ids(index)
    assert index.checkpoint() == store.last_seq()
    assert indexer.apply() == 0


def test_a_catch_up_rebuilds_an_index_of_another_schema(
    store: Store, open_index, tmp_path: Path
) -> None:
    fill_store(store, N)
    first = open_index()
    Indexer(store, first).catch_up()
    first.close()
    meta = json.loads((tmp_path / "index" / META_FILE).read_text())
    (tmp_path / "index" / META_FILE).write_text(json.dumps({**meta, "schema_version": 1}))
    reader = open_index(writer=False)
    with pytest.raises(SearchError, match="another schema"):
        reader.search(SearchQuery())
    upgraded = open_index()  # the indexer of the new release
    store.mark_deleted("alpha", ["rec-0"])
    assert Indexer(store, upgraded).catch_up() == N - 1  # every record, not the log from 0
    assert reader.count() == N - 1
    assert upgraded.checkpoint() == store.last_seq()
    assert sorted(hit_ids(reader)) == sorted(r.id for r in store.iter_records())


def test_rebuild_catches_up_with_racing_changes(store: Store, index: TantivyIndex) -> None:
    fill_store(store, 10)

    class RacingStore:
        """Lets a harvest land between the rebuild's seq capture and its scan."""

        def __getattr__(self, name: str):
            return getattr(store, name)

        def last_seq(self) -> int:
            seq = store.last_seq()
            fill_store(store, 5, start=100)
            store.mark_deleted("alpha", ["rec-2"])
            return seq

    indexer = Indexer(RacingStore(), index)
    indexer.rebuild()
    assert index.count() == 10 + 5 - 1
    assert index.checkpoint() == store.last_seq()


def test_one_bad_record_does_not_stop_indexing(
    store: Store, index: TantivyIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    fill_store(store, 5)
    from catalogue.search import indexer as indexer_module

    real = indexer_module.to_document

    def fragile(record):
        if record.source_id == "rec-3":
            raise RuntimeError("boom")
        return real(record)

    monkeypatch.setattr(indexer_module, "to_document", fragile)
    assert Indexer(store, index).catch_up() == 5
    assert index.count() == 4


def test_run_forever_indexes_in_background(store: Store, index: TantivyIndex) -> None:
    stop = threading.Event()
    thread = threading.Thread(
        target=Indexer(store, index).run_forever, args=(stop, 0.05), daemon=True
    )
    thread.start()
    try:
        fill_store(store, 6)
        deadline = time.monotonic() + 10
        while index.count() < 6 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert index.count() == 6
    finally:
        stop.set()
        thread.join(5)
    assert not thread.is_alive()


def test_run_forever_survives_errors(store: Store, index: TantivyIndex) -> None:
    calls = []
    stop = threading.Event()

    class Flaky(Indexer):
        def catch_up(self, batch: int = 1000) -> int:
            calls.append(time.monotonic())
            if len(calls) < 3:
                raise RuntimeError("database went away")
            stop.set()
            return 0

    thread = threading.Thread(target=Flaky(store, index).run_forever, args=(stop, 0.01))
    thread.start()
    thread.join(5)
    assert len(calls) == 3
    assert calls[2] - calls[1] >= calls[1] - calls[0]  # backs off


def settings_for(tmp_path: Path, **extra) -> dict:
    return load_settings({"data_dir": str(tmp_path), **extra}, env={})


def test_open_index_and_catch_up_if_free(store: Store, tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    fill_store(store, 7)
    assert catch_up_if_free(store, settings) == 7
    holder = open_index(settings, writer=True)
    try:
        fill_store(store, 2, start=50)
        assert catch_up_if_free(store, settings) is None
    finally:
        holder.close()
    assert catch_up_if_free(store, settings) == 2
    reader = open_index(settings, writer=False)
    assert reader.count() == 9
    reader.close()


@pytest.mark.parametrize(
    "url", ["http://localhost:9200", "solr+http://h:8983", "opensearch+ftp://h", "opensearch+"]
)
def test_search_url_must_name_its_engine(tmp_path: Path, url: str) -> None:
    # refused when the settings load, before any command opens the index
    with pytest.raises(SettingsError, match="search_url"):
        settings_for(tmp_path, search_url=url)
    # and by the cluster backend itself, given settings that were never checked
    search = settings_for(tmp_path).search
    with pytest.raises(SearchError, match="CATALOGUE_SEARCH_URL"):
        ClusterSettings.from_settings(url, search)


def test_search_url_credentials_never_show(tmp_path: Path) -> None:
    url = "http://elastic:s3cret@localhost:9200"
    with pytest.raises(SettingsError) as refused:
        settings_for(tmp_path, search_url=url)
    with pytest.raises(SearchError) as caught:
        ClusterSettings.from_settings(url, settings_for(tmp_path).search)
    for message in (str(refused.value), str(caught.value)):
        assert "s3cret" not in message and "localhost:9200" in message


def _stray_doc() -> dict:
    return {
        "title": ["stray"],
        "record": json.dumps({"id": "stray"}),
        "datestamp": None,
        "title_sort": "stray",
    }
