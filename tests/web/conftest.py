"""A live app: real store, real tantivy index, the Flask app served over HTTP on localhost."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from live_server import serve_in_thread

from catalogue.config import Settings, load_settings
from catalogue.search.indexer import Indexer, open_index
from catalogue.store import IncomingRecord, Store
from catalogue.web.app import create_app


@dataclass
class LiveApp:
    url: str
    store: Store
    indexer: Indexer
    settings: Settings

    def add(self, source: str, records: dict[str, dict[str, Any]]) -> None:
        """Store ``{source_id: metadata}`` and make it searchable."""
        self.store.upsert_page(source, [IncomingRecord(sid, md) for sid, md in records.items()])
        self.indexer.catch_up()

    def get(self, path: str, **params: Any) -> requests.Response:
        return requests.get(self.url + path, params=params, timeout=10)


@pytest.fixture
def live_app(store: Store, tmp_path: Path) -> Iterator[LiveApp]:
    settings = load_settings(
        {"data_dir": str(tmp_path), "index_dir": str(tmp_path / "index"), "search_url": ""}
    )
    writer = open_index(settings, writer=True)
    indexer = Indexer(store, writer)
    app = create_app(settings, store=store)
    try:
        for url in serve_in_thread(app):
            yield LiveApp(url, store, indexer, settings)
    finally:
        writer.close()
