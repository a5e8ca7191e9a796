"""SQLite under concurrent writers: a writer that cannot get the lock within the store's
lock timeout never shows "database is locked" to a user: the API answers 503 with
Retry-After (and stores nothing), a harvest writes its page again."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import requests
from live_server import serve_in_thread

from catalogue.config import load_settings
from catalogue.store import Store, create_store_engine
from catalogue.web.app import create_app
from harvester.harvest import harvest_source
from tests.faults.conftest import fast_settings


def hold_write_lock(path: Path, seconds: float, taken: threading.Event) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    taken.set()
    time.sleep(seconds)
    conn.execute("ROLLBACK")
    conn.close()


def test_a_deposit_that_cannot_get_the_lock_is_503_with_retry_after(tmp_path: Path) -> None:
    path = tmp_path / "catalogue.sqlite3"
    url = f"sqlite:///{path}?timeout=0.5"
    store = Store(create_store_engine(url))
    store.migrate()
    settings = load_settings(
        {"data_dir": str(tmp_path), "database_url": url, "search_url": ""}, env={}
    )
    _, token = store.create_token("depositor-1", "depositor")
    metadata = {
        "titles": [{"title": "Busy"}],
        "types": {"resourceTypeGeneral": "Dataset"},
        "creators": [{"name": "Doe, Jane"}],
        "publisher": "P",
        "publicationYear": "2024",
    }
    body = {"metadata": metadata}
    headers = {"Authorization": f"Bearer {token}"}
    for base in serve_in_thread(create_app(settings, store=store)):
        taken = threading.Event()
        holder = threading.Thread(target=hold_write_lock, args=(path, 2.0, taken))
        holder.start()
        taken.wait(5)
        started = time.monotonic()
        busy = requests.post(f"{base}/api/records", json=body, headers=headers, timeout=10)
        assert busy.status_code == 503, busy.text
        assert busy.headers["Retry-After"] == "1"
        assert "locked" not in busy.text
        assert time.monotonic() - started < 2  # bounded by the lock timeout, not 30 s
        holder.join()
        assert store.count_records("local") == 0  # nothing half-way
        created = requests.post(f"{base}/api/records", json=body, headers=headers, timeout=10)
        assert created.status_code == 201, created.text
        assert requests.get(created.headers["Location"], timeout=10).status_code == 200
    store.dispose()


def test_a_harvest_writes_a_page_again_when_the_database_is_busy(
    fault_server, tmp_path: Path
) -> None:
    path = tmp_path / "catalogue.sqlite3"
    store = Store(create_store_engine(f"sqlite:///{path}?timeout=0.3"))
    store.migrate()
    server = fault_server(40, 10, page_delay=0.2)
    store.add_source("f", "oai", server.url, metadata_prefix="oai_dc")
    taken = threading.Event()
    holder = threading.Thread(target=hold_write_lock, args=(path, 1.0, taken))

    def lock_after_first_page(query):  # noqa: ANN001
        if query.get("verb") == "ListRecords" and "resumptionToken" in query and not taken.is_set():
            holder.start()
            taken.wait(5)
        return None

    original = server._fault_for
    server._fault_for = lambda q: lock_after_first_page(q) or original(q)
    run = harvest_source(store, "f", fast_settings(tmp_path), full=True)
    holder.join()
    assert run.status == "succeeded", run.message
    assert store.count_records("f") == 40
    store.dispose()
