"""OAI-PMH provider benchmark: constant-cost paging, harvest throughput, flat memory.

    .venv/bin/python benchmarks/oai_bench.py [--records 1000000] [--db URL] [--page-size 100]

1. Loads N synthetic DataCite-like records straight into ``records`` and ``record_sets``
   (through the store's own bulk writers: COPY on PostgreSQL), 1 in 50 a tombstone, four
   records per datestamp second (ties on the keyset), three subsets and five types.
2. Starts ``catalogue serve`` (waitress) on that store in a subprocess.
3. Latency over HTTP (median of repeated requests) of the first ListRecords page (it also
   counts completeListSize), of page 2 and of a page past record 90% (900,000 of 1M), both
   unrestricted and for one set; prints the page query's plan.
4. A full sickle harvest of the provider (ListRecords oai_dc, following every token):
   records/s, and the provider's RSS sampled every 0.5 s. The anchor: the same sickle
   harvesting pre-built gzip pages of the provider's own output from a static server, which
   is what the client alone can do on this machine.

PostgreSQL URLs get a schema of their own, dropped at the end. Prints the figures; the
last line is one JSON object of them.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402
from sqlalchemy import create_engine, event, text  # noqa: E402

from catalogue.model import canonical_json, paged_set_specs, record_id  # noqa: E402
from catalogue.store import Store  # noqa: E402
from catalogue.web.oai.arguments import ListArgs  # noqa: E402
from catalogue.web.oai.tokens import ListState, TokenSigner  # noqa: E402

SECRET = "oai-bench-secret"
BASE = datetime(2024, 1, 1)
KINDS = ("Dataset", "Software", "Text", "Image", "Collection")
SUBJECTS = ("climate", "genomics", "astronomy", "linguistics", "chemistry", "economics")
SET_SPEC = "source:bench:community-1"
BATCH = 20_000


def metadata(n: int, rng: random.Random) -> dict[str, Any]:
    year = 1990 + n % 35
    return {
        "identifiers": [{"identifier": f"10.5555/bench.{n}", "identifierType": "DOI"}],
        "creators": [
            {
                "name": f"Doe, Jane{n % 97}",
                "nameType": "Personal",
                "givenName": "Jane",
                "familyName": "Doe",
                "affiliation": [{"name": "Benchmark University"}],
            },
            {"name": f"Roe, Richard{n % 89}", "nameType": "Personal"},
        ],
        "titles": [{"title": f"Synthetic dataset {n} about {SUBJECTS[n % 6]}", "lang": "en"}],
        "publisher": "Benchmark Repository",
        "publicationYear": year,
        "subjects": [{"subject": s} for s in rng.sample(SUBJECTS, 3)],
        "dates": [{"date": f"{year}-03-04", "dateType": "Issued"}],
        "language": "en",
        "types": {"resourceTypeGeneral": KINDS[n % 5], "resourceType": "measurements"},
        "formats": ["text/csv"],
        "rightsList": [
            {"rights": "CC-BY-4.0", "rightsUri": "https://creativecommons.org/licenses/by/4.0/"}
        ],
        "descriptions": [
            {
                "description": f"Measurements collected for record {n}. " * 3,
                "descriptionType": "Abstract",
            }
        ],
    }


def load(store: Store, count: int) -> float:
    """Bulk-load ``count`` records (and their set rows); seconds taken."""
    rng = random.Random(42)
    store.add_source("bench", "oai", "https://bench.example.org/oai")
    started = time.perf_counter()
    db = store._db_datetime
    writes = store._writes
    for start in range(0, count, BATCH):
        records, sets = [], []
        for n in range(start, min(start + BATCH, count)):
            sid = f"bench-{n}"
            rid = record_id("bench", sid)
            stamp = db(BASE + timedelta(seconds=n // 4))
            own_sets = ["source:bench"] + ([f"source:bench:community-{n % 3}"] if n % 2 else [])
            md = metadata(n, rng)
            records.append(
                {
                    "id": rid,
                    "source": "bench",
                    "source_id": sid,
                    "doi": f"10.5555/bench.{n}",
                    "datestamp": stamp,
                    "created_at": stamp,
                    "harvested_at": stamp,
                    "source_datestamp": db(BASE - timedelta(days=n % 1000)),
                    "deleted": n % 50 == 49,
                    "sets": json.dumps(own_sets),
                    "metadata": canonical_json(md),
                    "content_hash": f"{n:064d}",
                    "original_format": "oai_dc",
                    "created_by": None,
                    "updated_by": None,
                }
            )
            sets.extend(
                {"record_id": rid, "spec": spec, "datestamp": stamp}
                for spec in paged_set_specs(own_sets, md)
            )
        with store.engine.begin() as conn:
            writes.insert_records(conn, records)
            writes.insert_sets(conn, sets)
        done = min(start + BATCH, count)
        if done % 200_000 == 0 or done == count:
            print(f"  loaded {done:,} records in {time.perf_counter() - started:.0f} s", flush=True)
    with store.engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    return time.perf_counter() - started


def query_plans(store: Store) -> dict[str, list[str]]:
    """The plan of the page query (unrestricted and for a set) at a deep position."""
    captured: list[tuple[str, Any]] = []

    def capture(_conn, _cursor, statement, parameters, _context, _many) -> None:
        captured.append((statement, parameters))

    after = (BASE + timedelta(days=2), "m" * 16)
    plans = {}
    for name, spec in (("all", None), ("set", SET_SPEC)):
        captured.clear()
        event.listen(store.engine, "before_cursor_execute", capture)
        try:
            store.oai_page(
                after=after, from_=None, until=None, spec=spec, limit=101, with_metadata=True
            )
        finally:
            event.remove(store.engine, "before_cursor_execute", capture)
        statement, parameters = captured[-1]
        explain = "EXPLAIN " if store.is_postgres else "EXPLAIN QUERY PLAN "
        with store.engine.connect() as conn:
            rows = conn.exec_driver_sql(explain + statement, parameters).all()
        plans[name] = [" ".join(str(c) for c in row[-1:]) for row in rows]
        plans[name + "_sql"] = [" ".join(statement.split())]
    return plans


def position(store: Store, spec: str | None, offset: int) -> tuple[datetime, str]:
    """The (datestamp, id) key of the record at ``offset`` in list order (setup only)."""
    if spec is None:
        sql = "SELECT datestamp, id FROM records ORDER BY datestamp, id LIMIT 1 OFFSET :o"
        params = {"o": offset}
    else:
        sql = (
            "SELECT datestamp, record_id FROM record_sets WHERE spec = :s "
            "ORDER BY datestamp, record_id LIMIT 1 OFFSET :o"
        )
        params = {"s": spec, "o": offset}
    with store.engine.connect() as conn:
        stamp, rid = conn.execute(text(sql), params).one()
    if isinstance(stamp, str):
        stamp = datetime.fromisoformat(stamp)
    return stamp, rid


def latency(url: str, params: dict[str, str], repeat: int) -> dict[str, float]:
    session = requests.Session()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = session.get(url, params=params, timeout=120)
        response.content  # noqa: B018  (read the whole body)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200 and b"<error" not in response.content[:2000]
    times.sort()
    return {
        "median_ms": round(statistics.median(times), 1),
        "p90_ms": round(times[int(len(times) * 0.9) - 1], 1),
    }


def store_page_ms(
    store: Store, spec: str | None, offsets: list[tuple[str, int]], repeat: int
) -> dict[str, float]:
    """Median ms of the page query alone (in this process, no HTTP, no XML)."""
    out = {}
    for name, offset in offsets:
        after = position(store, spec, offset)
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            store.oai_page(
                after=after, from_=None, until=None, spec=spec, limit=101, with_metadata=True
            )
            times.append((time.perf_counter() - started) * 1000)
        out[name] = round(statistics.median(times), 2)
    return out


def page_latencies(store: Store, url: str, count: int, spec: str | None, repeat: int) -> dict:
    signer = TokenSigner(SECRET)
    args = ListArgs("oai_dc", None, None, spec)
    size = store.oai_count(from_=None, until=None, spec=spec)
    params = {"verb": "ListRecords", "metadataPrefix": "oai_dc"}
    if spec:
        params["set"] = spec
    out: dict[str, Any] = {"list_size": size}
    out["first"] = latency(url, params, repeat)
    for name, offset in (("page2", 99), ("deep", int(size * 0.9))):
        token = signer.encode(
            "ListRecords", ListState(args, position(store, spec, offset), offset + 1, size)
        )
        out[name] = latency(url, {"verb": "ListRecords", "resumptionToken": token}, repeat)
        out[name]["position"] = offset + 1
    offsets = [("page2", 99), ("deep", int(size * 0.9))]
    out["store_ms"] = store_page_ms(store, spec, offsets, repeat)
    out["ratio_deep_first"] = round(out["deep"]["median_ms"] / out["first"]["median_ms"], 2)
    out["ratio_deep_page2"] = round(out["deep"]["median_ms"] / out["page2"]["median_ms"], 2)
    return out


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def sickle_harvest(url: str, limit: int | None, pid: int | None) -> dict[str, Any]:
    from sickle import Sickle

    samples: list[tuple[float, float]] = []
    stop = threading.Event()

    def sample() -> None:
        t0 = time.perf_counter()
        while not stop.wait(0.5):
            samples.append((time.perf_counter() - t0, rss_mb(pid)))

    sampler = threading.Thread(target=sample, daemon=True)
    if pid:
        sampler.start()
    started = time.perf_counter()
    count = 0
    for _record in Sickle(url, max_retries=3).ListRecords(metadataPrefix="oai_dc"):
        count += 1
        if limit and count >= limit:
            break
    seconds = time.perf_counter() - started
    stop.set()
    out: dict[str, Any] = {
        "records": count,
        "seconds": round(seconds, 1),
        "records_per_s": round(count / seconds),
    }
    if samples:
        values = [v for _, v in samples]
        tenth = values[len(values) // 10 :] or values
        out["rss_mb"] = {
            "start": round(values[0]),
            "max": round(max(values)),
            "end": round(values[-1]),
            "growth_after_first_10pct": round(max(tenth) - tenth[0], 1),
        }
    return out


def capture_pages(url: str, pages: int) -> list[bytes]:
    """The provider's first ``pages`` ListRecords responses, tokens renamed p1, p2, ..."""
    bodies, token = [], None
    session = requests.Session()
    for i in range(pages):
        params = (
            {"verb": "ListRecords", "resumptionToken": token}
            if token
            else {"verb": "ListRecords", "metadataPrefix": "oai_dc"}
        )
        body = session.get(url, params=params, timeout=120).content
        token = re.search(rb"<resumptionToken[^>]*>([^<]+)<", body).group(1).decode()
        last = i == pages - 1
        renamed = re.sub(
            rb"(<resumptionToken[^>]*>)[^<]+(<)", rb"\1\2" if last else rb"\1p%d\2" % (i + 1), body
        )
        bodies.append(gzip.compress(renamed, 1))
    return bodies


STATIC_SERVER = """
import pickle, sys
from urllib.parse import parse_qs
from waitress import serve
pages = pickle.load(open(sys.argv[1], "rb"))
def app(environ, start_response):
    token = parse_qs(environ.get("QUERY_STRING", "")).get("resumptionToken", ["p0"])[0]
    body = pages[int(token[1:])]
    start_response("200 OK", [("Content-Type", "text/xml"), ("Content-Encoding", "gzip"),
                              ("Content-Length", str(len(body)))])
    return [body]
serve(app, host="127.0.0.1", port=int(sys.argv[2]), threads=4, _quiet=True)
"""


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, proc: subprocess.Popen) -> None:
    for _ in range(600):
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            requests.get(url, params={"verb": "Identify"}, timeout=5)
            return
        except requests.ConnectionError:
            time.sleep(0.1)
    raise RuntimeError("server did not start")


def anchor(url: str, workdir: Path, pages: int) -> dict[str, Any]:
    import pickle

    path = workdir / "pages.pickle"
    path.write_bytes(pickle.dumps(capture_pages(url, pages)))
    port = free_port()
    script = workdir / "static_server.py"
    script.write_text(STATIC_SERVER)
    proc = subprocess.Popen([sys.executable, str(script), str(path), str(port)])
    try:
        static = f"http://127.0.0.1:{port}/oai"
        wait_for(static, proc)
        return sickle_harvest(static, None, None)
    finally:
        proc.terminate()
        proc.wait(10)


def with_schema(url: str) -> tuple[str, Any]:
    if not url.startswith("postgresql"):
        return url, None
    schema = f"oai_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in url else "?"

    def drop() -> None:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    return f"{url}{sep}options=-csearch_path%3D{schema}", drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--db", default="", help="SQLAlchemy URL (default: a temp SQLite file)")
    parser.add_argument("--page-size", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=15, help="requests per latency figure")
    parser.add_argument(
        "--harvest-limit",
        type=int,
        default=0,
        help="stop the sickle harvest after this many records (0: all)",
    )
    parser.add_argument("--anchor-pages", type=int, default=300)
    opts = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="oai_bench_") as tmp:
        workdir = Path(tmp)
        url, drop = with_schema(opts.db or f"sqlite:///{workdir / 'bench.sqlite3'}")
        server = None
        try:
            store = Store(url)
            store.migrate()
            backend = "postgresql" if store.is_postgres else "sqlite"
            print(f"loading {opts.records:,} records into {backend} ...", flush=True)
            load_s = load(store, opts.records)
            print(f"loaded in {load_s:.0f} s ({opts.records / load_s:,.0f} records/s)")
            plans = query_plans(store)
            for name in ("all", "set"):
                print(f"page query plan ({name}):")
                for line in plans[name]:
                    print(f"    {line}")

            port = free_port()
            env = dict(
                os.environ,
                CATALOGUE_DATABASE_URL=url,
                CATALOGUE_DATA_DIR=str(workdir),
                CATALOGUE_SECRET_KEY=SECRET,
                CATALOGUE_OAI_PAGE_SIZE=str(opts.page_size),
                CATALOGUE_SEARCH_URL="",
            )
            from catalogue.config import load_settings
            from catalogue.search.indexer import open_index

            open_index(load_settings(env=env), writer=True).close()
            server = subprocess.Popen(
                [
                    str(ROOT / ".venv/bin/catalogue"),
                    "serve",
                    "--no-indexer",
                    "--port",
                    str(port),
                    "--threads",
                    "4",
                ],
                env=env,
                stdout=subprocess.DEVNULL,
            )
            oai_url = f"http://127.0.0.1:{port}/oai"
            wait_for(oai_url, server)

            pages = {
                "all": page_latencies(store, oai_url, opts.records, None, opts.repeat),
                "set": page_latencies(store, oai_url, opts.records, SET_SPEC, opts.repeat),
            }
            for name, figures in pages.items():
                print(
                    f"ListRecords {name} ({figures['list_size']:,} records): first "
                    f"{figures['first']['median_ms']} ms (with the count), page 2 "
                    f"{figures['page2']['median_ms']} ms, page at record "
                    f"{figures['deep']['position']:,} {figures['deep']['median_ms']} ms; "
                    f"deep/first {figures['ratio_deep_first']}, deep/page2 "
                    f"{figures['ratio_deep_page2']}; page query alone {figures['store_ms']} ms",
                    flush=True,
                )

            print("sickle harvest of the provider ...", flush=True)
            harvest = sickle_harvest(oai_url, opts.harvest_limit or None, server.pid)
            print(
                f"  {harvest['records']:,} records in {harvest['seconds']} s: "
                f"{harvest['records_per_s']:,} records/s; provider RSS {harvest.get('rss_mb')}"
            )
            base = anchor(oai_url, workdir, opts.anchor_pages)
            ratio = round(harvest["records_per_s"] / base["records_per_s"], 2)
            print(
                f"  anchor, sickle on static pre-built pages: {base['records_per_s']:,} "
                f"records/s; provider/anchor {ratio}"
            )
            result = {
                "backend": backend,
                "records": opts.records,
                "page_size": opts.page_size,
                "load_s": round(load_s),
                "pages": pages,
                "harvest": harvest,
                "anchor": base,
                "provider_vs_anchor": ratio,
                "plans": {k: v for k, v in plans.items() if not k.endswith("_sql")},
            }
        finally:
            if server is not None:
                server.terminate()
                server.wait(10)
            if drop is not None:
                store.dispose()
                drop()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
