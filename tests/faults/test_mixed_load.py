"""Mixed load on loopback, on SQLite and PostgreSQL: 8 clients search, page OAI-PMH
ListRecords and deposit records on a real `catalogue serve` while `catalogue harvest`
writes the same store: no 5xx, no "database is locked", every 201 readable afterwards, the
index equal to the store at the end. Short here; benchmarks/mixed_load_bench.py runs 60 s."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

from catalogue.store import Store, create_store_engine
from tests.faults.mixed_load import catalogue, check_after, environment, run_load, start_serve

SECONDS = float(os.environ.get("CATALOGUE_TEST_LOAD_SECONDS", "8"))


def test_mixed_load_while_a_harvest_runs(db_url: str, fault_server, tmp_path: Path) -> None:
    env = environment(tmp_path, db_url)
    store = Store(create_store_engine(db_url))
    store.migrate()
    server = fault_server(3000, 100, page_delay=0.05)
    store.add_source("f", "oai", server.url, metadata_prefix="oai_dc")
    token = subprocess.run(
        [*catalogue_args("tokens", "create", "--role", "depositor")],
        env=env, capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    serve, base = start_serve(env)
    try:
        harvest = catalogue(env, "harvest", "f", stderr=subprocess.PIPE, text=True)
        figures = run_load(base, token, SECONDS)
        _out, err = harvest.communicate(timeout=300)
        assert harvest.returncode == 0, repr(err[-3000:])
        assert "database is locked" not in err
        summary = figures.summary(SECONDS)
        print("mixed load", db_url.split(":")[0], summary)
        assert not figures.server_errors, figures.server_errors[:5]
        assert figures.locked == 0
        assert all(
            summary[e]["requests"] > 0 for e in ("search", "oai_list_records", "ingest_post")
        )
        assert figures.created
        live = store.count_records()
        assert live == 3000 + len(figures.created)
        assert check_after(base, figures, live) == []
    finally:
        serve.send_signal(signal.SIGTERM)
        _out, err = serve.communicate(timeout=60)
        store.dispose()
    assert "database is locked" not in err


def catalogue_args(*args: str) -> list[str]:
    import sys

    return [sys.executable, "-m", "catalogue", *args]
