"""CPU and wall time per single-record POST in the web process, without HTTP or other
processes: the Flask test client against the real app and a PostgreSQL store.

    .venv/bin/python benchmarks/deposit_cpu_bench.py [--blocks 8] [--posts 150]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/test]

``ingest_workers_bench.py`` measures the whole server under 8 clients, where the host's
noise (other processes, the clients' own CPU) moves the figures by 20% from run to run.
Here one process alternates blocks of POSTs with the store's psycopg pipeline for small
writes on and off (the anchor: the same process, the same records, one statement per
round trip), so the two are compared under the same conditions.
Prints the figures; the last line is one JSON object of them.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from bench_db import bench_database  # noqa: E402
from ingest_bench import record  # noqa: E402

PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=8, help="blocks, alternating on/off")
    parser.add_argument("--posts", type=int, default=150, help="POSTs per block")
    parser.add_argument("--database-url", default=PG)
    args = parser.parse_args()

    with bench_database(args.database_url) as url, tempfile.TemporaryDirectory() as tmp:
        from catalogue.config import load_settings
        from catalogue.web.app import create_app

        app = create_app(load_settings({"data_dir": tmp, "database_url": url}, env={}))
        store = app.extensions["catalogue"].store
        _, secret = store.create_token("bench", "depositor")
        client = app.test_client()
        headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}
        posted = 0

        def block(count: int) -> tuple[float, float]:
            nonlocal posted
            cpu, wall = time.process_time(), time.perf_counter()
            for _ in range(count):
                posted += 1
                body = json.dumps({"metadata": record(posted, "cpu")}).encode()
                response = client.post("/api/records", data=body, headers=headers)
                assert response.status_code == 201, response.data[:300]
            return (
                (time.process_time() - cpu) / count * 1000,
                (time.perf_counter() - wall) / count * 1000,
            )

        block(100)  # warm-up: connections, caches
        runs: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
        for n in range(args.blocks):
            pipelined = n % 2 == 0
            store._pipelines = pipelined  # what the store chose for this database
            runs[pipelined].append(block(args.posts))
        store.dispose()

    figures: dict[str, float | int] = {"posts_per_block": args.posts, "blocks": args.blocks}
    for pipelined, label in ((True, "pipelined"), (False, "one_statement_per_round_trip")):
        cpu = statistics.median(c for c, _ in runs[pipelined])
        wall = statistics.median(w for _, w in runs[pipelined])
        figures[f"{label}_cpu_ms"] = round(cpu, 2)
        figures[f"{label}_wall_ms"] = round(wall, 2)
        print(f"{label:30} CPU {cpu:5.2f} ms, wall {wall:5.2f} ms per POST (median of blocks)")
    ratio = figures["pipelined_cpu_ms"] / figures["one_statement_per_round_trip_cpu_ms"]
    figures["cpu_ratio"] = round(ratio, 3)
    figures["load_average"] = round(os.getloadavg()[0], 2)
    print(f"pipelined / one statement per round trip, CPU: {ratio:.2f}x")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
