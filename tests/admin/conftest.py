"""A live app for the admin API and pages: real store (SQLite and PostgreSQL), the Flask app
over HTTP with the queue worker `serve` runs, a real OAI-PMH server to harvest, tokens."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from admin_support import AdminApp, small_repository
from live_server import serve_in_thread

from catalogue.config import load_settings
from catalogue.demo.replay import start_replay_server
from catalogue.run_queue import QueueWorker
from catalogue.search.indexer import Indexer, open_index
from catalogue.store import Store
from catalogue.web.app import create_app


@pytest.fixture
def oai_server():
    server, _ = start_replay_server(repositories={"/oai": small_repository()})
    yield server
    server.stop()


@pytest.fixture
def admin_app(store: Store, tmp_path: Path) -> Iterator[AdminApp]:
    settings = load_settings(
        {
            "data_dir": str(tmp_path),
            "index_dir": str(tmp_path / "index"),
            "search_url": "",
            "secret_key": "test-secret",
            "harvest": {"backoff": 0.01, "max_retries": 1, "timeout": 10},
            "scheduler": {"queue_poll_seconds": 0.2},
        },
        env={},
    )
    writer = open_index(settings, writer=True)
    indexer = Indexer(store, writer)
    app = create_app(settings, store=store)
    worker = QueueWorker(store, settings)
    worker.start()
    app.extensions["run_queue"] = worker
    tokens = {
        role: store.create_token(f"{role}-1", role)[1] for role in ("depositor", "admin", "reader")
    }
    try:
        for url in serve_in_thread(app):
            yield AdminApp(url, store, indexer, settings, **tokens)
    finally:
        worker.stop(wait=True)
        writer.close()
