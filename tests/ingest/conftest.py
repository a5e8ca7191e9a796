"""A live app for the ingest API: real store (SQLite and PostgreSQL), real tantivy index,
the Flask app served over HTTP on localhost, and tokens of each role."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from ingest_support import IngestApp
from live_server import serve_in_thread

from catalogue.config import load_settings
from catalogue.search.indexer import Indexer, open_index
from catalogue.store import Store
from catalogue.web.app import create_app


@pytest.fixture
def ingest_app(store: Store, tmp_path: Path) -> Iterator[IngestApp]:
    settings = load_settings(
        {"data_dir": str(tmp_path), "index_dir": str(tmp_path / "index"), "search_url": ""}
    )
    writer = open_index(settings, writer=True)
    indexer = Indexer(store, writer)
    app = create_app(settings, store=store)
    tokens = {
        role: store.create_token(f"{role}-1", role)[1] for role in ("depositor", "admin", "reader")
    }
    try:
        for url in serve_in_thread(app):
            yield IngestApp(url, store, indexer, settings, **tokens)
    finally:
        writer.close()
