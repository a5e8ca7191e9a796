"""REST harvest benchmark: 100,000 B2SHARE-shaped records, full and 1% incremental harvests.

    .venv/bin/python benchmarks/rest_harvest_bench.py [--n 100000] [--page-size 100]
        [--changed 0.01] [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/test]

A local B2SHARE server (tests/harvester/rest/rest_servers.py: the real record shape, the
10,000-hit paging limit, gzip) runs in a subprocess with N records spread over eight years
of update times. Measured, in this order:

1. full harvest: ``harvest_source`` (list in time windows, map, store into a fresh store:
   SQLite, or a throw-away schema of the PostgreSQL database ``--database-url`` names),
   records/s and the requests it took;
2. anchor: bare ``requests`` + ``json.loads`` replaying exactly the listing requests the
   harvest made (same pages, same gzip), records/s - the transport and parse floor;
3. incremental harvest after the server updated ``--changed`` of the records: records
   fetched, requests, records/s of the changed records.

Prints the figures and ratios; the last line is one JSON object of them.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests" / "harvester" / "rest"


def serve(n: int) -> None:
    """The server process: N records, plus /_bench/ control routes."""
    import logging

    sys.path[:0] = [str(ROOT), str(TESTS)]
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
    from rest_servers import ApiServer, B2ShareApp, b2share_record, json_response

    start = datetime(2016, 1, 1)
    step = timedelta(seconds=8 * 365 * 86400 / n)
    communities = ["e9b9792e-79fb-4b07-b6b4-b9c2bd06d095", "99916f6f-9a2c-4feb-a342-6552ac7f1529"]
    records = [b2share_record(i, start + step * i, communities[i % 2]) for i in range(n)]
    app = B2ShareApp(records)
    log: list[dict] = []

    def bench(request):
        if request.path == "/_bench/touch":
            fraction = float(request.args["fraction"])
            now = datetime.now(UTC).replace(tzinfo=None)
            every = max(1, round(1 / fraction))
            for i in range(0, n, every):
                record = dict(app.records[f"{i:032x}"])
                record["updated"] = now.replace(tzinfo=UTC).isoformat()
                record["metadata"] = {**record["metadata"], "version": "2"}
                app.records[record["id"]] = record
            app._index()
            return json_response({"touched": len(range(0, n, every))})
        if request.path == "/_bench/log":
            listing = [entry for entry in log if entry["path"] == "/api/records/"]
            log.clear()
            return json_response(listing)
        log.append({"path": request.path, "args": dict(request.args)})
        return app(request)

    server = ApiServer(bench)
    print(f"port {server.base.rsplit(':', 1)[1]}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()


def anchor(base: str, requests_log: list[dict]) -> tuple[int, float]:
    """Bare requests + json.loads over the listing requests the harvest made."""
    import requests

    session = requests.Session()
    records = 0
    started = time.perf_counter()
    for entry in requests_log:
        data = json.loads(session.get(base + entry["path"], params=entry["args"]).content)
        records += len(data["hits"]["hits"])
    return records, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--page-size", type=int, default=100)
    parser.add_argument("--changed", type=float, default=0.01)
    parser.add_argument(
        "--database-url", help="a PostgreSQL URL (a throw-away schema of it); default SQLite"
    )
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return

    sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]
    import requests
    from bench_db import bench_database

    from catalogue.config import load_settings
    from catalogue.runtime import tune_gc
    from catalogue.store import Store
    from harvester.harvest import harvest_source

    tune_gc()  # as the `catalogue` command does
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(args.n)], stdout=subprocess.PIPE, text=True
    )
    try:
        base = f"http://127.0.0.1:{int(server.stdout.readline().split()[1])}"
        with tempfile.TemporaryDirectory() as tmp, bench_database(args.database_url) as db_url:
            overrides = {"data_dir": tmp} | ({"database_url": db_url} if db_url else {})
            settings = load_settings(overrides, env={})
            store = Store(settings["database_url"])
            store.migrate()
            store.add_source("bench", "b2share", base, config={"page_size": args.page_size})

            started = time.perf_counter()
            full = harvest_source(store, "bench", settings)
            full_s = time.perf_counter() - started
            full_log = requests.get(base + "/_bench/log").json()
            assert full.status == "succeeded", full.message

            anchor_records, anchor_s = anchor(base, full_log)
            requests.get(base + "/_bench/log")  # drop the anchor's own requests

            touched = requests.get(base + "/_bench/touch", params={"fraction": args.changed})
            changed = touched.json()["touched"]
            time.sleep(1.1)  # the next second, so the changes are after the overlap start
            started = time.perf_counter()
            incr = harvest_source(store, "bench", settings)
            incr_s = time.perf_counter() - started
            incr_log = requests.get(base + "/_bench/log").json()
            assert incr.status == "succeeded", incr.message
            store.dispose()
    finally:
        server.terminate()
        server.wait()

    figures = {
        "database": "postgresql" if args.database_url else "sqlite",
        "records": args.n,
        "page_size": args.page_size,
        "full_seconds": round(full_s, 2),
        "full_records_per_s": round(full.counts.seen / full_s),
        "full_added": full.counts.added,
        "full_listing_requests": len(full_log),
        "anchor_records": anchor_records,
        "anchor_seconds": round(anchor_s, 2),
        "anchor_records_per_s": round(anchor_records / anchor_s),
        "full_vs_anchor": round((full.counts.seen / full_s) / (anchor_records / anchor_s), 3),
        "changed": changed,
        "incremental_seconds": round(incr_s, 2),
        "incremental_records_fetched": incr.counts.seen,
        "incremental_updated": incr.counts.updated,
        "incremental_listing_requests": len(incr_log),
        "incremental_fetched_fraction": round(incr.counts.seen / args.n, 4),
        "incremental_records_per_s": round(incr.counts.seen / incr_s),
    }
    print(
        f"full harvest:   {full.counts.seen} records in {full_s:.1f} s = "
        f"{figures['full_records_per_s']} records/s ({len(full_log)} listing requests)"
    )
    print(f"anchor:         {anchor_records} records in {anchor_s:.1f} s = "
          f"{figures['anchor_records_per_s']} records/s (bare requests + json.loads)")  # fmt: skip
    print(f"ratio:          full harvest / anchor = {figures['full_vs_anchor']}")
    print(f"incremental:    {changed} changed; fetched {incr.counts.seen} records "
          f"({figures['incremental_fetched_fraction']:.2%}) in {len(incr_log)} requests, "
          f"{incr_s:.2f} s = {figures['incremental_records_per_s']} records/s")  # fmt: skip
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
