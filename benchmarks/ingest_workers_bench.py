"""Single-record POST latency with several web workers (issue 15), on PostgreSQL.

    .venv/bin/python benchmarks/ingest_workers_bench.py [--workers 1,2,4] [--singles 2000]
        [--clients 8] [--threads 8] [--db postgresql+psycopg://postgres@127.0.0.1:5432/test]

For each worker count, starts `catalogue serve --workers N` (N=1: waitress in one
process; N>1: gunicorn's pre-fork workers) with its indexer in a child process, on a fresh
PostgreSQL schema, creates a depositor token, warms up, then ``--clients`` threads POST
``--singles`` single DataCite-like records in all: p50/p95/p99 latency and requests/s.
The anchor is the one-worker run; the ratios say what more workers buy (goal: p95 < 20 ms).
Prints the figures; the last line is one JSON object of them.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import requests
from ingest_bench import bench_singles, free_port, record
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def start(
    db_url: str, data_dir: str, workers: int, threads: int
) -> tuple[subprocess.Popen, str, str]:
    env = {**os.environ, "CATALOGUE_DATA_DIR": data_dir, "CATALOGUE_DATABASE_URL": db_url}
    catalogue = [sys.executable, "-m", "catalogue"]
    token = subprocess.run(
        [*catalogue, "tokens", "create", "--role", "depositor", "--name", "bench"],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    port = free_port()
    args = ["serve", "--port", str(port), "--threads", str(threads), "--workers", str(workers)]
    server = subprocess.Popen(
        [*catalogue, *args], env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            requests.get(url + "/api/records?size=0", timeout=2)
            return server, url, token
        except requests.RequestException:  # not listening yet, or too busy starting up
            time.sleep(0.2)
    server.kill()
    raise SystemExit("the server did not start")


def warm_up(url: str, token: str, workers: int) -> None:
    """A few requests per worker: first-request costs (imports, schema compilation, pools)."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    for n in range(20 * workers):
        r = session.post(url + "/api/records", json={"metadata": record(n, "warm")}, timeout=60)
        assert r.status_code == 201, r.text[:300]


def run(db: str, workers: int, args: argparse.Namespace) -> dict[str, float]:
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(db)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in db else "?"
    url_in_schema = f"{db}{sep}options=-csearch_path%3D{schema}"
    try:
        with tempfile.TemporaryDirectory() as tmp:
            server, url, token = start(url_in_schema, tmp, workers, args.threads)
            try:
                warm_up(url, token, workers)
                return bench_singles(url, token, args.singles, args.clients)
            finally:
                server.terminate()
                server.wait(30)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", default="1,2,4", help="worker counts to measure")
    parser.add_argument("--singles", type=int, default=2000, help="single-record POSTs per run")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients")
    parser.add_argument("--threads", type=int, default=8, help="threads per worker")
    parser.add_argument("--db", default=os.environ.get("CATALOGUE_TEST_PG_URL", PG))
    args = parser.parse_args()
    counts = [int(n) for n in args.workers.split(",")]
    figures: dict[str, dict[str, float]] = {}
    for workers in counts:
        singles = run(args.db, workers, args)
        figures[f"workers_{workers}"] = singles
        print(
            f"{workers} worker(s), {args.clients} clients, PostgreSQL: p50 {singles['p50_ms']} ms, "
            f"p95 {singles['p95_ms']} ms, p99 {singles['p99_ms']} ms, "
            f"{singles['requests_per_s']} requests/s",
            flush=True,
        )
    anchor = figures[f"workers_{counts[0]}"]
    ratios = {name: round(f["p95_ms"] / anchor["p95_ms"], 3) for name, f in figures.items()}
    print("p95 relative to the first run:", ratios)
    # the machine is shared: a load above its core count makes every figure above slower
    load = round(os.getloadavg()[0], 2)
    print(f"load average (1 min) at the end: {load} on {os.cpu_count()} cores")
    print(json.dumps({"clients": args.clients, **figures, "p95_ratio": ratios, "load": load}))


if __name__ == "__main__":
    main()
