"""Single-record POST latency with several web workers (issue 15), on PostgreSQL.

    .venv/bin/python benchmarks/ingest_workers_bench.py [--workers 1,2,4] [--singles 2000]
        [--clients 8] [--threads 8] [--db postgresql+psycopg://postgres@127.0.0.1:5432/test]

For each worker count, starts `catalogue serve --workers N` (N=1: waitress in one
process; N>1: gunicorn's pre-fork workers) with its indexer in a child process, on a fresh
PostgreSQL schema, creates a depositor token, warms up, then ``--clients`` threads POST
``--singles`` single DataCite-like records in all: p50/p95/p99 latency and requests/s.
The anchor is the one-worker run; the ratios say what more workers buy (goal: p95 < 20 ms).
Since the machine is shared, each run also reports the CPU milliseconds per POST that the
web worker(s), the indexer process and the PostgreSQL backends serving them spent (from
/proc; tagged by application_name), and what the benchmark's own client threads spent.
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


def _descendants(pid: int) -> list[int]:
    """``pid`` and every process below it (from /proc: no psutil needed)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                todo.extend(int(c) for c in (task / "children").read_text().split())
            except OSError:
                continue
    return found


def _cpu_seconds(pids: list[int]) -> dict[int, float]:
    """User + system CPU seconds of each live process (Linux /proc/<pid>/stat)."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[pid] = (int(fields[11]) + int(fields[12])) / tick
    return out


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()[:200]
    except OSError:
        return ""


def _database_backends(db: str, application_name: str) -> list[int]:
    engine = create_engine(db)
    try:
        with engine.connect() as conn:
            return list(
                conn.scalars(
                    text("SELECT pid FROM pg_stat_activity WHERE application_name = :n"),
                    {"n": application_name},
                )
            )
    finally:
        engine.dispose()


class CpuMeter:
    """CPU seconds the server spends while the clients run: its processes (web worker(s),
    the indexer child) and the PostgreSQL backends serving it, each counted apart, and the
    benchmark's own client threads (which share the machine's cores with them)."""

    def __init__(self, server: subprocess.Popen, db: str, application_name: str) -> None:
        self.server, self.db, self.application_name = server, db, application_name

    def start(self) -> None:
        self.pids = _descendants(self.server.pid)
        self.backends = _database_backends(self.db, self.application_name)
        self.before = _cpu_seconds(self.pids + self.backends)
        self.client_before = time.process_time()

    def stop(self, requests_made: int) -> dict[str, float]:
        client = time.process_time() - self.client_before
        backends = set(self.backends) | set(_database_backends(self.db, self.application_name))
        after = _cpu_seconds(self.pids + sorted(backends))
        used = {pid: after[pid] - self.before.get(pid, 0.0) for pid in after}
        indexer = [p for p in self.pids if "multiprocessing" in _cmdline(p)]
        web = [p for p in self.pids if p not in indexer]

        def ms(pids: list[int] | set[int]) -> float:
            return round(1000 * sum(used.get(p, 0.0) for p in pids) / requests_made, 2)

        figures = {
            "web_cpu_ms": ms(web),
            "indexer_cpu_ms": ms(indexer),
            "postgres_cpu_ms": ms(backends),
            "client_cpu_ms": round(1000 * client / requests_made, 2),
        }
        figures["server_cpu_ms"] = round(
            figures["web_cpu_ms"] + figures["indexer_cpu_ms"] + figures["postgres_cpu_ms"], 2
        )
        return figures


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
    url_in_schema = f"{db}{sep}options=-csearch_path%3D{schema}&application_name={schema}"
    try:
        with tempfile.TemporaryDirectory() as tmp:
            server, url, token = start(url_in_schema, tmp, workers, args.threads)
            try:
                warm_up(url, token, workers)
                meter = CpuMeter(server, db, schema)
                meter.start()
                figures = bench_singles(url, token, args.singles, args.clients)
                return {**figures, **meter.stop(args.clients * (args.singles // args.clients))}
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
        print(
            f"  CPU ms per POST: server {singles['server_cpu_ms']} (web {singles['web_cpu_ms']}, "
            f"indexer {singles['indexer_cpu_ms']}, PostgreSQL {singles['postgres_cpu_ms']}); "
            f"benchmark clients {singles['client_cpu_ms']}",
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
