"""Ingest API benchmark: POST lists of 1,000 records, and single-record POST latency.

    .venv/bin/python benchmarks/ingest_bench.py [--lists 10] [--singles 2000] [--clients 8]

Runs `catalogue serve` (waitress, with its in-process indexer, as in production) on a fresh
SQLite store in a subprocess, creates a depositor token with `catalogue tokens create`, then:

1. POSTs ``--lists`` JSON lists of 1,000 DataCite-like records (~1.5 KB each, unique DOIs)
   one after another: records/s through HTTP, validation and the store.
2. The anchor, in this process: the same records written with ``Store.upsert_page`` in
   pages of 1,000 into another fresh SQLite store (the harvest path, no HTTP, no
   validation); the ratio API / anchor says what the API layer costs.
3. ``--clients`` threads POST ``--singles`` single records in all: p50/p95/p99 latency.

Prints the figures; the last line is one JSON object of them.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
LIST_SIZE = 1000
SUBJECTS = ["oceanography", "climate", "glaciology", "hydrology", "geology", "ecology"]


def record(n: int, prefix: str) -> dict:
    return {
        "identifiers": [{"identifier": f"10.5555/{prefix}.{n}", "identifierType": "DOI"}],
        "creators": [
            {
                "name": f"Author{k}, Given{n}",
                "nameType": "Personal",
                "givenName": f"Given{n}",
                "familyName": f"Author{k}",
                "affiliation": [{"name": "Institute of Examples"}],
            }
            for k in range(3)
        ],
        "titles": [{"title": f"Measurements of ocean temperature, series {n}"}],
        "publisher": "Example Data Centre",
        "publicationYear": 2000 + n % 25,
        "types": {"resourceTypeGeneral": "Dataset", "resourceType": "Time series"},
        "subjects": [{"subject": SUBJECTS[(n + k) % len(SUBJECTS)]} for k in range(3)],
        "dates": [{"date": f"{2000 + n % 25}-01-01", "dateType": "Issued"}],
        "language": "en",
        "rightsList": [{"rights": "CC-BY-4.0"}],
        "descriptions": [
            {
                "description": "Temperature and salinity profiles from a moored array; "
                "hourly values, quality controlled. " * 4,
                "descriptionType": "Abstract",
            }
        ],
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(data_dir: str) -> tuple[subprocess.Popen, str, str]:
    env = {**os.environ, "CATALOGUE_DATA_DIR": data_dir, "CATALOGUE_DATABASE_URL": ""}
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
    server = subprocess.Popen(
        [*catalogue, "serve", "--port", str(port), "--threads", "8"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            requests.get(url + "/api/openapi.json", timeout=1)
            return server, url, token
        except requests.ConnectionError:
            time.sleep(0.1)
    server.kill()
    raise SystemExit("the server did not start")


def bench_lists(url: str, token: str, lists: int) -> float:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    bodies = [
        json.dumps([{"metadata": record(n, f"l{b}")} for n in range(LIST_SIZE)]).encode()
        for b in range(lists)
    ]
    # one warm-up list (first-request costs: imports, schema compilation, connections)
    warm = [{"metadata": record(n, "warm")} for n in range(LIST_SIZE)]
    assert session.post(url + "/api/records", json=warm, timeout=120).status_code == 201
    started = time.perf_counter()
    for body in bodies:
        r = session.post(
            url + "/api/records",
            data=body,
            headers={"Content-Type": "application/json"},
            timeout=120,
        )
        assert r.status_code == 201, r.text[:500]
    return lists * LIST_SIZE / (time.perf_counter() - started)


def wait_searchable(url: str, expected: int, timeout: float = 300) -> float:
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        total = requests.get(url + "/api/records", params={"size": 0}, timeout=30).json()["total"]
        if total >= expected:
            return time.perf_counter() - started
        time.sleep(0.2)
    raise SystemExit(f"only {total} of {expected} records searchable after {timeout} s")


def bench_anchor(lists: int) -> float:
    sys.path.insert(0, str(ROOT))
    from catalogue.store import IncomingRecord, Store

    with tempfile.TemporaryDirectory() as tmp:
        store = Store(f"sqlite:///{tmp}/anchor.sqlite3")
        store.migrate()
        warm = [IncomingRecord(f"warm{n}", record(n, "warm")) for n in range(LIST_SIZE)]
        store.upsert_page("local", warm)
        pages = [
            [
                IncomingRecord(f"l{b}.{n}", record(n, f"l{b}"), sets=["source:local"])
                for n in range(LIST_SIZE)
            ]
            for b in range(lists)
        ]
        started = time.perf_counter()
        for page in pages:
            store.upsert_page("local", page, actor="bench")
        rate = lists * LIST_SIZE / (time.perf_counter() - started)
        store.dispose()
    return rate


def bench_singles(url: str, token: str, total: int, clients: int) -> dict[str, float]:
    latencies: list[float] = []
    lock = threading.Lock()
    errors: list[str] = []

    def client(k: int) -> None:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token}"
        mine = []
        for n in range(total // clients):
            body = json.dumps({"metadata": record(n, f"s{k}")}).encode()
            started = time.perf_counter()
            r = session.post(
                url + "/api/records",
                data=body,
                headers={"Content-Type": "application/json"},
                timeout=60,
            )
            mine.append(time.perf_counter() - started)
            if r.status_code != 201:
                errors.append(f"{r.status_code} {r.text[:200]}")
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise SystemExit(f"{len(errors)} failed POSTs, e.g. {errors[0]}")
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000

    return {
        "p50_ms": round(pct(0.50), 1),
        "p95_ms": round(pct(0.95), 1),
        "p99_ms": round(pct(0.99), 1),
        "mean_ms": round(statistics.fmean(latencies) * 1000, 1),
        "requests_per_s": round(len(latencies) / elapsed, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lists", type=int, default=10, help="lists of 1,000 records to POST")
    parser.add_argument("--singles", type=int, default=2000, help="single-record POSTs in all")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        server, url, token = start_server(tmp)
        try:
            api_rate = bench_lists(url, token, args.lists)
            print(f"POST lists of {LIST_SIZE}: {api_rate:,.0f} records/s (SQLite, waitress)")
            # The server's indexer follows the change log; the latency run starts once it
            # has caught up, so that it measures deposits, not a 10,000-record index backlog.
            searchable = wait_searchable(url, (args.lists + 1) * LIST_SIZE)
            print(f"all listed records searchable {searchable:.1f} s after the last POST")
            singles = bench_singles(url, token, args.singles, args.clients)
            print(
                f"single POSTs, {args.clients} clients: p50 {singles['p50_ms']} ms, "
                f"p95 {singles['p95_ms']} ms, p99 {singles['p99_ms']} ms, "
                f"{singles['requests_per_s']} requests/s"
            )
        finally:
            server.terminate()
            server.wait(10)
    anchor = bench_anchor(args.lists)
    print(f"anchor Store.upsert_page, pages of {LIST_SIZE}: {anchor:,.0f} records/s")
    figures = {
        "list_post_records_per_s": round(api_rate, 1),
        "anchor_upsert_page_records_per_s": round(anchor, 1),
        "api_to_anchor_ratio": round(api_rate / anchor, 3),
        "records_posted_in_lists": args.lists * LIST_SIZE,
        "lists_searchable_after_s": round(searchable, 1),
        "single_post_clients": args.clients,
        "single_posts": args.singles,
        **{f"single_post_{k}": v for k, v in singles.items()},
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
