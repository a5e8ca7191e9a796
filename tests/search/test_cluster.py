"""The cluster backend's own contracts: writer lease and checkpoint in the catalogue
database, alias swap on rebuild, bulk failures, mapping versions, the indexer over it."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from catalogue.config import load_settings
from catalogue.search.base import (
    IndexLocked,
    SchemaMismatch,
    SearchQuery,
    SearchUnavailable,
)
from catalogue.search.cluster import ClusterSettings, redacted_url
from catalogue.search.documents import to_document
from catalogue.search.indexer import Indexer
from catalogue.store import Store

from .cluster_support import drop_alias, open_cluster, unique_alias
from .synthetic import fill_store, synthetic_record

SCHEME = (os.environ.get("CATALOGUE_TEST_SEARCH_URL") or "opensearch+").split("+")[0]


@pytest.fixture
def search_url(request: pytest.FixtureRequest) -> str:
    real = os.environ.get("CATALOGUE_TEST_SEARCH_URL")
    if real:
        return real
    return f"opensearch+{request.getfixturevalue('osmem_url')}"


@pytest.fixture
def cluster(search_url: str, db_url: str) -> Iterator[Any]:
    """Opens cluster indexes on one alias and one database; cleans up afterwards."""
    alias = unique_alias()
    opened: list[Any] = []

    def _open(*, writer: bool = True, **kwargs: Any) -> Any:
        index = open_cluster(search_url, alias, db_url, writer=writer, **kwargs)
        opened.append(index)
        return index

    yield _open
    for index in reversed(opened):
        index.close()
    if opened:
        drop_alias(opened[0])


def docs(n: int, start: int = 0) -> list[dict[str, Any]]:
    return [to_document(synthetic_record(i)) for i in range(start, start + n)]


def test_one_writer_at_a_time_and_resume_from_checkpoint(cluster) -> None:
    first = cluster()
    first.upsert(docs(10))
    first.commit(10)
    with pytest.raises(IndexLocked):
        cluster()
    first.close()
    second = cluster()
    assert second.checkpoint() == 10  # resumes where the last commit got
    assert cluster(writer=False).checkpoint() == 10
    assert second.count() == 10


def test_an_expired_lease_is_taken_over_and_the_old_holder_cannot_commit(cluster) -> None:
    crashed = cluster(lease_seconds=1)
    crashed.upsert(docs(5))
    crashed.commit(5)
    time.sleep(2.1)  # the holder "crashed": its lease runs out
    successor = cluster()
    assert successor.checkpoint() == 5
    with pytest.raises(IndexLocked):
        crashed.commit(9)  # never records a range the successor now owns
    successor.upsert(docs(5, 5))
    successor.commit(9)
    assert cluster(writer=False).checkpoint() == 9


def test_rebuild_swaps_the_alias_atomically(cluster) -> None:
    writer = cluster()
    reader = cluster(writer=False)
    writer.upsert(docs(20))
    writer.commit(20)
    old = writer._aliased_indexes()
    writer.clear()
    writer.upsert(docs(5, 100))
    assert reader.count() == 20  # searches keep the old index while the new one fills
    writer.commit(30)
    assert reader.count() == 5
    assert reader.checkpoint() == 30
    now = writer._aliased_indexes()
    assert len(now) == 1 and now != old
    client = writer.transport.client
    assert not client.indices.exists(index=old[0])


def test_an_unfinished_rebuild_leaves_the_alias_alone(cluster) -> None:
    writer = cluster()
    writer.upsert(docs(8))
    writer.commit(8)
    writer.clear()
    writer.upsert(docs(2, 50))
    writer.close()  # crash before the commit
    assert cluster(writer=False).count() == 8
    assert cluster().checkpoint() == 8


def test_refused_documents_are_reported_and_the_rest_indexed(cluster) -> None:
    writer = cluster()
    batch = docs(5)
    batch[2] = dict(batch[2], language={"not": "a keyword"})
    writer.upsert(batch)
    writer.commit(5)
    assert writer.count() == 4
    assert [f["id"] for f in writer.failures] == [batch[2]["id"]]
    assert writer.failures[0]["status"] == 400


def test_deletes_of_unknown_ids_are_fine(cluster) -> None:
    writer = cluster()
    writer.upsert(docs(3))
    writer.delete([docs(1)[0]["id"], "never-indexed"])
    writer.commit(4)
    assert writer.count() == 2 and not writer.failures


def alias_a_legacy_index(writer: Any) -> str:
    """Moves the writer's alias onto a new index named as a mapping version 0 one."""
    client = writer.transport.client
    old = f"{writer.alias}-v0-legacy"
    client.indices.create(index=old)
    actions = [{"remove": {"index": n, "alias": writer.alias}} for n in writer._aliased_indexes()]
    actions.append({"add": {"index": old, "alias": writer.alias}})
    client.indices.update_aliases(body={"actions": actions})
    return old


def test_an_alias_on_another_mapping_version_asks_for_reindex(cluster) -> None:
    writer = cluster()
    client = writer.transport.client
    old = alias_a_legacy_index(writer)
    with pytest.raises(SchemaMismatch, match="catalogue reindex"):
        cluster(writer=False).search(SearchQuery())
    client.indices.delete(index=old)


def test_the_indexer_rebuilds_an_index_of_another_mapping_version(store: Store, cluster) -> None:
    fill_store(store, 30)
    writer = cluster()
    client = writer.transport.client
    old = alias_a_legacy_index(writer)
    writer.close()
    writer = cluster()  # as an indexer started after an upgrade
    assert writer.needs_rebuild()
    assert Indexer(store, writer).catch_up() == 30  # the rebuild, not a catch-up from 0
    assert not writer.needs_rebuild()
    assert cluster(writer=False).search(SearchQuery(facets=False)).total == 30
    assert not client.indices.exists(index=old)


def test_the_indexer_follows_the_change_log_into_the_cluster(store: Store, cluster) -> None:
    fill_store(store, 60)
    writer = cluster()
    indexer = Indexer(store, writer)
    assert indexer.catch_up() == 60
    assert writer.count() == 60
    store.mark_deleted("alpha", ["rec-0", "rec-2"])
    indexer.catch_up()
    assert writer.count() == 58
    assert cluster(writer=False).checkpoint() == store.last_seq()
    assert indexer.rebuild() == 58
    assert writer.count() == 58


def test_unreachable_engine_is_unavailable(db_url: str) -> None:
    index = open_cluster(f"{SCHEME}+http://127.0.0.1:9", unique_alias(), db_url, writer=False)
    with pytest.raises(SearchUnavailable):
        index.search(SearchQuery())


def test_credentials_come_from_settings_or_url_and_never_show() -> None:
    search = load_settings(env={}).search
    cfg = ClusterSettings.from_settings(
        "opensearch+https://admin:p%40ss@search.example.org:9200/", search
    )
    assert (cfg.username, cfg.password, cfg.url) == (
        "admin",
        "p@ss",
        "https://search.example.org:9200",
    )
    assert "p@ss" not in repr(cfg) and "admin" not in repr(cfg)
    keyed = ClusterSettings.from_settings(
        "elasticsearch+http://h:9200", replace(search, api_key="k3y")
    )
    assert keyed.api_key == "k3y" and "k3y" not in repr(keyed)
    assert redacted_url("opensearch+https://admin:secret@h:9200") == "opensearch+https://h:9200"


class _BusyThenFine:
    """A transport whose bulk answers 429 for every item the first time (an overloaded
    cluster), then passes the items to the real transport: the HTTP edge is all it fakes."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.client = real.client
        self.calls = 0

    def call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        return self.real.call(fn, *args, **kwargs)

    def bulk(self, actions: list[dict[str, Any]]):
        self.calls += 1
        if self.calls == 1:
            for action in actions:
                yield False, {"index": {"_id": action["_id"], "status": 429, "error": {}}}
            return
        yield from self.real.bulk(actions)


def test_busy_engine_items_are_retried(cluster, monkeypatch: pytest.MonkeyPatch) -> None:
    from catalogue.search import cluster as cluster_module

    monkeypatch.setattr(cluster_module.time, "sleep", lambda _: None)
    writer = cluster()
    writer.transport = _BusyThenFine(writer.transport)
    writer.upsert(docs(6))
    writer.commit(6)
    assert writer.transport.calls == 2 and writer.count() == 6 and not writer.failures


def test_a_cluster_that_lost_the_index_is_rebuilt_from_the_store(store: Store, cluster) -> None:
    """The cluster restored empty (or the index deleted by hand): writes never create a
    plain index under the alias's name, and the indexer's next catch-up rebuilds it."""
    fill_store(store, 20)
    writer = cluster()
    indexer = Indexer(store, writer)
    assert indexer.catch_up() == 20
    client = writer.transport.client
    for name in writer._aliased_indexes():
        client.indices.delete(index=name)
    store.mark_deleted("alpha", ["rec-0"])
    indexer.catch_up()
    assert not client.indices.exists(index=writer.alias) or writer._aliased_indexes()
    assert cluster(writer=False).search(SearchQuery(facets=False)).total == 19
    assert not writer.needs_rebuild()
