"""Fault benchmark: the long versions of tests/faults (kills, mixed load).

    .venv/bin/python benchmarks/faults_bench.py [--kills 40] [--load-seconds 60]
        [--db sqlite|postgresql|both] [--skip-kills] [--skip-load]

1. ``--kills`` times: `catalogue harvest --full` of a 600-record OAI-PMH source on the
   fault-injecting server (tests/faults/oai_faults.py, 15% random survivable faults) is
   killed with SIGKILL at a seeded random moment, then run again to its end; after each
   rerun the store must hold exactly the source's records, each once, no run "running".
   Anchor: one uninterrupted harvest of the same source; the figures say how many requests
   the reruns needed against a harvest from the start (what the checkpoints save).
2. Mixed load for ``--load-seconds`` on each database: 8 clients (40% search, 30% OAI-PMH
   ListRecords paging, 30% single deposits) on `catalogue serve` while `catalogue harvest`
   writes 3,000 records: requests/s and p50/p95 per endpoint, 5xx, "database is locked",
   201s read back, index equal to the store. Anchor: the same clients without the harvest.

Prints the figures; the last line is one JSON object of them.
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, select, text  # noqa: E402

from catalogue.store import Store, create_store_engine  # noqa: E402
from catalogue.tables import HarvestRunRow, RecordRow  # noqa: E402
from harvester.checkpoints import Checkpoint  # noqa: E402
from tests.faults.mixed_load import (  # noqa: E402
    catalogue,
    check_after,
    environment,
    run_load,
    start_serve,
)
from tests.faults.oai_faults import FaultServer, make_repository  # noqa: E402

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def kills(n: int, seed: int) -> dict:
    total, page_size = 600, 20
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/catalogue.sqlite3"
        store = Store(create_store_engine(url))
        store.migrate()
        server = FaultServer(
            make_repository(total, page_size), rate=0.15, seed=seed, page_delay=0.1
        ).start()
        store.add_source("f", "oai", server.url, metadata_prefix="oai_dc")
        env = environment(Path(tmp), url)
        env.update(CATALOGUE_HARVEST_BACKOFF="0.01", CATALOGUE_HARVEST_TIMEOUT="2",
                   CATALOGUE_HARVEST_RESPONSE_TIMEOUT="5")  # fmt: skip
        anchor_start = len(server.list_requests())
        started = time.monotonic()
        subprocess.run([sys.executable, "-m", "catalogue", "harvest", "f", "--full"], env=env,
                       capture_output=True, check=True, cwd=ROOT)  # fmt: skip
        anchor = {"seconds": round(time.monotonic() - started, 2),
                  "requests": len(server.list_requests()) - anchor_start}  # fmt: skip
        expected = sorted(f"oai:faults:{i}" for i in range(total))
        figures = {"kills": 0, "reruns": 0, "resumed": 0, "lost": 0, "duplicates": 0,
                   "left_running": 0, "rerun_requests": 0, "resumed_rerun_requests": 0}  # fmt: skip
        for _ in range(n):
            before = len(server.log)
            proc = catalogue(env, "harvest", "f", "--full", stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)  # fmt: skip
            while len(server.log) == before and proc.poll() is None:
                time.sleep(0.02)
            time.sleep(rng.uniform(0, 7))
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                figures["kills"] += 1
            proc.wait()
            loaded = store.load_checkpoint("f")
            checkpoint = Checkpoint.from_state(loaded[1]) if loaded else None
            first = len(server.list_requests())
            subprocess.run([sys.executable, "-m", "catalogue", "harvest", "f", "--full"],
                           env=env, capture_output=True, check=True, cwd=ROOT)  # fmt: skip
            made = len(server.list_requests()) - first
            figures["reruns"] += 1
            figures["rerun_requests"] += made
            if checkpoint is not None and checkpoint.pages:
                figures["resumed"] += 1
                figures["resumed_rerun_requests"] += made
            with store.engine.connect() as conn:
                ids = sorted(conn.execute(select(RecordRow.source_id)).scalars())
                running = conn.execute(
                    select(HarvestRunRow.id).where(HarvestRunRow.status == "running")
                ).all()
            figures["lost"] += len(set(expected) - set(ids))
            figures["duplicates"] += len(ids) - len(set(ids))
            figures["left_running"] += len(running)
        figures["faults_injected"] = dict(server.injected)
        figures["faults_total"] = sum(server.injected.values())
        figures["anchor_uninterrupted"] = anchor
        if figures["resumed"]:
            per_resumed = figures["resumed_rerun_requests"] / figures["resumed"]
            figures["requests_per_resumed_rerun"] = round(per_resumed, 1)
            figures["ratio_to_full_list"] = round(per_resumed / anchor["requests"], 2)
        server.stop()
        store.dispose()
    return figures


def load(database: str, seconds: float) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        schema = None
        if database == "sqlite":
            url = f"sqlite:///{tmp}/catalogue.sqlite3"
        else:
            schema = f"bench_{uuid.uuid4().hex[:10]}"
            admin = create_engine(PG_URL)
            with admin.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            url = f"{PG_URL}?options=-csearch_path%3D{schema}"
        try:
            return _load(url, Path(tmp), seconds)
        finally:
            if schema is not None:
                with admin.begin() as conn:
                    conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
                admin.dispose()


def _load(url: str, tmp: Path, seconds: float) -> dict:
    store = Store(create_store_engine(url))
    store.migrate()
    server = FaultServer(make_repository(3000, 100), page_delay=0.05).start()
    store.add_source("f", "oai", server.url, metadata_prefix="oai_dc")
    env = environment(tmp, url)
    token = subprocess.run(
        [sys.executable, "-m", "catalogue", "tokens", "create", "--role", "depositor"],
        env=env, capture_output=True, text=True, check=True, cwd=ROOT,
    ).stdout.strip()  # fmt: skip
    serve, base = start_serve(env)
    try:
        anchor = run_load(base, token, min(seconds, 15)).summary(min(seconds, 15))
        harvest = catalogue(env, "harvest", "f", stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
        figures = run_load(base, token, seconds)
        _out, err = harvest.communicate(timeout=600)
        summary = figures.summary(seconds)
        problems = check_after(base, figures, store.count_records())
        result = {
            "with_harvest": summary,
            "anchor_without_harvest": anchor,
            "harvest_exit": harvest.returncode,
            "server_errors": len(figures.server_errors),
            "database_locked": figures.locked + err.count("database is locked"),
            "created": len(figures.created),
            "problems": problems[:10],
        }
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.communicate(timeout=60)
        server.stop()
        store.dispose()
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kills", type=int, default=40)
    parser.add_argument("--load-seconds", type=float, default=60.0)
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--seed", type=int, default=20261126)
    parser.add_argument("--skip-kills", action="store_true")
    parser.add_argument("--skip-load", action="store_true")
    args = parser.parse_args()
    result: dict = {}
    if not args.skip_kills:
        result["kills"] = kills(args.kills, args.seed)
        print("kills:", json.dumps(result["kills"]))
    if not args.skip_load:
        for database in ("sqlite", "postgresql") if args.db == "both" else (args.db,):
            result[f"load_{database}"] = load(database, args.load_seconds)
            print(f"mixed load on {database}:", json.dumps(result[f"load_{database}"]))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
