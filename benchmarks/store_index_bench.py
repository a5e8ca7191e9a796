"""Store and indexer benchmark: ``Store.upsert_page`` and ``Indexer.catch_up`` on their own.

    .venv/bin/python benchmarks/store_index_bench.py [--n 100000] [--page-size 500]
        [--db postgresql+psycopg://postgres@127.0.0.1:5432/test]

Pages of realistic harvested records (a title, 3 creators, 5 subjects, a 500-character
description, identifiers, dates, rights; a ~1.5 KB oai_dc payload) go into a fresh store:
SQLite in a temporary directory by default, or a throw-away schema of the ``--db``
PostgreSQL database (dropped at the end). Measured: ``upsert_page`` µs per new record while
the store grows from 0 to 10k and from n-10k to n records; re-upserting unchanged pages at
size n; then ``Indexer.catch_up`` of a fresh embedded index over all n records. Building the
pages is not timed. Prints the figures; the last line is one JSON object of them.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402

from catalogue.search.embedded import TantivyIndex  # noqa: E402
from catalogue.search.indexer import Indexer  # noqa: E402
from catalogue.store import IncomingRecord, Store  # noqa: E402

SOURCE = "bench"
WINDOW = 10_000  # records per measured window (start and end of the growing store)
BASE_DATE = datetime(2020, 1, 1)
SUBJECTS = (
    "climate",
    "genomics",
    "astronomy",
    "linguistics",
    "chemistry",
    "economics",
    "oceanography",
    "ecology",
)
PEOPLE = (
    ("Doe", "Jane"),
    ("Roe", "Richard"),
    ("Moreau", "Camille"),
    ("Jansen", "Pieter"),
    ("Kowalska", "Anna"),
    ("Okafor", "Chidi"),
    ("Tanaka", "Yuki"),
)
LOREM = (
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor "
    "incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud "
    "exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat. Duis aute irure "
    "dolor in reprehenderit in voluptate velit esse cillum dolore eu fugiat nulla pariatur. "
    "Excepteur sint occaecat cupidatat non proident, sunt in culpa qui officia deserunt "
    "mollit anim id est laborum. Sed ut perspiciatis unde omnis iste natus error sit "
    "voluptatem accusantium doloremque laudantium, totam rem aperiam eaque ipsa quae ab illo."
)


def _description(n: int) -> str:
    return f"Measurements collected for record {n}. {LOREM}"[:500]


def make_item(n: int) -> IncomingRecord:
    """Record number ``n`` as the oai_dc crosswalk would hand it to the store."""
    year = 2000 + n % 25
    people = [PEOPLE[(n + k) % len(PEOPLE)] for k in range(3)]
    subjects = [SUBJECTS[(n + k) % len(SUBJECTS)] for k in range(5)]
    title = f"Synthetic dataset number {n} about {subjects[0]}"
    description = _description(n)
    stamp = BASE_DATE + timedelta(seconds=n)
    metadata: dict[str, Any] = {
        "identifiers": [
            {"identifier": f"10.5555/bench.{n}", "identifierType": "DOI"},
            {"identifier": f"https://repo.example.org/records/{n}", "identifierType": "URL"},
        ],
        "creators": [
            {
                "name": f"{family}, {given}",
                "nameType": "Personal",
                "givenName": given,
                "familyName": family,
            }
            for family, given in people
        ],
        "titles": [{"title": title}],
        "publisher": "Benchmark Repository",
        "publicationYear": year,
        "types": {"resourceTypeGeneral": "Dataset", "resourceType": "Dataset"},
        "subjects": [{"subject": s} for s in subjects],
        "dates": [{"date": f"{year}-03-04", "dateType": "Issued"}],
        "language": "en",
        "formats": ["text/csv"],
        "rightsList": [
            {"rights": "CC-BY-4.0"},
            {"rightsUri": "info:eu-repo/semantics/openAccess"},
        ],
        "descriptions": [{"description": description, "descriptionType": "Abstract"}],
    }
    raw = (
        '<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xsi:schemaLocation="http://www.openarchives.org/OAI/2.0/oai_dc/ '
        'http://www.openarchives.org/OAI/2.0/oai_dc.xsd">'
        f"<dc:title>{title}</dc:title>"
        + "".join(f"<dc:creator>{family}, {given}</dc:creator>" for family, given in people)
        + "".join(f"<dc:subject>{s}</dc:subject>" for s in subjects)
        + f"<dc:description>{description}</dc:description>"
        "<dc:publisher>Benchmark Repository</dc:publisher>"
        f"<dc:date>{year}-03-04</dc:date><dc:type>Dataset</dc:type>"
        "<dc:format>text/csv</dc:format>"
        f"<dc:identifier>https://doi.org/10.5555/bench.{n}</dc:identifier>"
        f"<dc:identifier>https://repo.example.org/records/{n}</dc:identifier>"
        "<dc:language>en</dc:language><dc:rights>CC-BY-4.0</dc:rights>"
        "<dc:rights>info:eu-repo/semantics/openAccess</dc:rights>"
        "</oai_dc:dc>"
    ).encode()
    return IncomingRecord(
        source_id=f"oai:bench:{n}",
        metadata=metadata,
        sets=[f"source:{SOURCE}", f"source:{SOURCE}:{subjects[0]}"],
        source_datestamp=stamp,
        raw=raw,
        raw_format="oai_dc",
    )


def make_page(start: int, size: int) -> list[IncomingRecord]:
    return [make_item(n) for n in range(start, start + size)]


def _timed_upsert(store: Store, page: list[IncomingRecord]) -> float:
    started = time.perf_counter()
    store.upsert_page(SOURCE, page)
    return time.perf_counter() - started


def run(url: str, workdir: Path, n: int, page_size: int, reupsert: int) -> dict[str, Any]:
    store = Store(url)
    store.migrate()
    store.add_source(SOURCE, "oai-pmh", "http://bench.example.org/oai", metadata_prefix="oai_dc")
    window = min(WINDOW, n)
    first = last = 0.0
    started = time.perf_counter()
    for start in range(0, n, page_size):
        page = make_page(start, min(page_size, n - start))
        seconds = _timed_upsert(store, page)
        if start < window:
            first += seconds
        if start >= n - window:
            last += seconds
        if (start + page_size) % 10_000 == 0:
            print(
                f"  {start + page_size:>7} records stored, page {seconds * 1e6 / len(page):.0f}"
                f" µs/record ({time.perf_counter() - started:.0f} s)",
                flush=True,
            )
    figures: dict[str, Any] = {
        "upsert_new_us_first": round(first * 1e6 / window, 1),
        "upsert_new_us_last": round(last * 1e6 / window, 1),
    }
    print(
        f"upsert_page, new records: {figures['upsert_new_us_first']} µs/record at 0-{window}, "
        f"{figures['upsert_new_us_last']} µs/record at {n - window}-{n}"
    )

    again = min(reupsert, n)
    unchanged = sum(
        _timed_upsert(store, make_page(start, min(page_size, again - start)))
        for start in range(0, again, page_size)
    )
    figures["upsert_unchanged_us"] = round(unchanged * 1e6 / again, 1)
    print(f"upsert_page, {again} unchanged records: {figures['upsert_unchanged_us']} µs/record")

    index = TantivyIndex(workdir / "index", writer=True)
    try:
        started = time.perf_counter()
        applied = Indexer(store, index).catch_up()
        seconds = time.perf_counter() - started
        count = index.count()
    finally:
        index.close()
    figures["index_docs_per_s"] = round(count / seconds)
    figures["index_seconds"] = round(seconds, 2)
    print(
        f"Indexer.catch_up: {applied} changes, {count} documents in {seconds:.1f} s "
        f"= {figures['index_docs_per_s']} docs/s"
    )
    store.dispose()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="records stored and indexed")
    parser.add_argument("--page-size", type=int, default=500)
    parser.add_argument("--reupsert", type=int, default=10_000, help="unchanged records re-sent")
    parser.add_argument("--db", help="a PostgreSQL URL (default: SQLite in a temporary dir)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp:
        workdir = Path(tmp)
        schema = None
        if args.db:
            schema = f"bench_{uuid.uuid4().hex[:12]}"
            admin = create_engine(args.db)
            with admin.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            sep = "&" if "?" in args.db else "?"
            url = f"{args.db}{sep}options=-csearch_path%3D{schema}"
        else:
            url = f"sqlite:///{workdir / 'catalogue.sqlite3'}"
        try:
            figures = run(url, workdir, args.n, args.page_size, args.reupsert)
        finally:
            if schema:
                with admin.begin() as conn:
                    conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
                admin.dispose()
    size = len(make_item(0).raw)
    print(
        json.dumps(
            {
                "db": "postgresql" if args.db else "sqlite",
                "n": args.n,
                "page_size": args.page_size,
                "raw_bytes": size,
                "window": min(WINDOW, args.n),
                **figures,
            }
        )
    )


if __name__ == "__main__":
    main()
