"""``/health`` while the search index waits for its rebuild after a schema change."""

from __future__ import annotations

import json
from pathlib import Path

from catalogue.config import load_settings
from catalogue.search.embedded import META_FILE, TantivyIndex
from catalogue.search.indexer import Indexer
from catalogue.web.app import create_app


def test_health_says_the_index_is_being_rebuilt_until_it_is(tmp_path: Path) -> None:
    settings = load_settings({"data_dir": str(tmp_path)}, env={})
    app = create_app(settings)
    store = app.extensions["catalogue"].store
    TantivyIndex(settings.index_dir, writer=True).close()
    meta_file = Path(settings.index_dir) / META_FILE
    meta = json.loads(meta_file.read_text())
    meta_file.write_text(json.dumps({**meta, "schema_version": meta["schema_version"] - 1}))
    client = create_app(settings, store=store).test_client()  # starts on the stale index

    stale = client.get("/health")
    assert stale.status_code == 503
    assert stale.json["checks"]["index"]["status"] == "rebuilding"
    assert stale.json["checks"]["database"]["status"] == "ok"
    assert client.get("/api/records").status_code == 503

    writer = TantivyIndex(settings.index_dir, writer=True)
    Indexer(store, writer).catch_up()  # the indexer's rebuild
    writer.close()
    rebuilt = client.get("/health")
    assert rebuilt.status_code == 200 and rebuilt.json["checks"]["index"]["status"] == "ok"
    assert client.get("/api/records").status_code == 200
