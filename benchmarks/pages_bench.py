"""Measure the researcher pages against the JSON API they are built on.

    .venv/bin/python benchmarks/pages_bench.py --records 100000 --workdir /tmp/pages-bench

Fills a SQLite store with synthetic DataCite-like records (``search_bench.fill``), builds the
index, then asks the app (in process, through Flask's test client, so that HTTP noise does
not hide the rendering cost) the same searches as ``/search`` and as ``/api/records``,
alternately, and opens landing pages. Goals: a search page costs at most 1.3x the API call
at p50 and p95 (the anchor, measured in the same run); a landing page renders in under
20 ms at p95. Prints figures, then one JSON line.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
from itertools import accumulate
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from search_bench import LICENCES, TYPES, percentile, vocabulary  # noqa: E402

from catalogue.config import load_settings  # noqa: E402
from catalogue.search.embedded import TantivyIndex  # noqa: E402
from catalogue.search.indexer import Indexer  # noqa: E402
from catalogue.store import IncomingRecord, Store  # noqa: E402
from catalogue.web.app import create_app  # noqa: E402

PAGE_GOAL = 1.3
LANDING_P95_GOAL_MS = 20.0


SOURCES = 12
PAGE = 2000


def fill(store: Store, count: int, rng: random.Random) -> list[str]:
    """Records shaped like search_bench's (Zipf-distributed words), written a source's 2,000
    at a time (the store's fast path)."""
    words = vocabulary(rng, 5000)
    # cumulative weights once: random.choices would sum 5,000 weights on every call
    cumulative = list(accumulate(1 / (rank + 1) for rank in range(len(words))))
    pages: dict[str, list[IncomingRecord]] = {}
    for i in range(count):
        source = f"repo{i % SOURCES}"
        md = metadata(i, rng, lambda n: " ".join(rng.choices(words, cum_weights=cumulative, k=n)))
        pages.setdefault(source, []).append(IncomingRecord(f"r{i}", md))
        if len(pages[source]) >= PAGE:
            store.upsert_page(source, pages.pop(source))
    for source, items in pages.items():
        store.upsert_page(source, items)
    return words


def metadata(i: int, rng: random.Random, text: Any) -> dict[str, Any]:
    return {
        "identifiers": [{"identifier": f"10.5555/bench.{i}", "identifierType": "DOI"}],
        "creators": [{"name": f"{text(1).title()}, {text(1).title()}"} for _ in range(3)],
        "titles": [{"title": text(rng.randint(4, 12)) + f" rare{i}"}],
        "publisher": f"Publisher {rng.randint(1, 60)}",
        "publicationYear": rng.randint(1990, 2025),
        "types": {"resourceTypeGeneral": rng.choice(TYPES)},
        "subjects": [{"subject": f"subject {int(rng.paretovariate(1.2))}"} for _ in range(3)],
        "language": rng.choice(["en", "en", "en", "de", "fr", "nl"]),
        "rightsList": [rng.choice(LICENCES)],
        "descriptions": [{"description": text(rng.randint(30, 120))}],
    }


def timed(client: Any, url: str, headers: dict[str, str] | None = None) -> float:
    started = time.perf_counter()
    response = client.get(url, headers=headers or {})
    elapsed = (time.perf_counter() - started) * 1000
    assert response.status_code == 200, (url, response.status_code)
    return elapsed


def summary(values: list[float]) -> dict[str, float]:
    return {
        "p50": round(statistics.median(values), 2),
        "p95": round(percentile(values, 95), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=40, help="requests per query kind")
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="pages-bench-"))
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    rng = random.Random(7)
    figures: dict[str, Any] = {"records": args.records}

    store = Store(f"sqlite:///{workdir / 'catalogue.sqlite3'}")
    store.migrate()
    started = time.perf_counter()
    words = fill(store, args.records, rng)
    figures["store_fill_s"] = round(time.perf_counter() - started, 1)
    writer = TantivyIndex(workdir / "index", writer=True)
    started = time.perf_counter()
    Indexer(store, writer).rebuild()
    writer.close()
    figures["rebuild_s"] = round(time.perf_counter() - started, 1)
    print(
        f"{args.records} records: store {figures['store_fill_s']} s, index {figures['rebuild_s']} s"
    )

    settings = load_settings(
        {"data_dir": str(workdir), "index_dir": str(workdir / "index"), "search_url": ""}
    )
    app = create_app(settings, store=store, index=TantivyIndex(workdir / "index", writer=False))
    client = app.test_client()

    # what researchers do: a few words, a word and filters, a phrase, a sort and a page
    common = words[:12]
    kinds = {
        "two_words": lambda n: f"q={common[n % 12]}+{common[(n + 5) % 12]}",
        "word_filters": lambda n: f"q={common[n % 12]}&type=Dataset&language=en&language=de",
        "browse_sorted": lambda n: f"sort=newest&year={1990 + n % 30}&page=2",
        "rare": lambda n: f"q=rare{n * 37}",
    }
    for kind, make in kinds.items():
        client.get(f"/search?{make(0)}")  # warm up
        client.get(f"/api/records?{make(0)}")
        api_times: list[float] = []
        page_times: list[float] = []
        for n in range(args.rounds):
            query = make(n)
            # alternate the order so that neither side profits from the other's caches
            if n % 2:
                api_times.append(timed(client, f"/api/records?{query}"))
                page_times.append(timed(client, f"/search?{query}"))
            else:
                page_times.append(timed(client, f"/search?{query}"))
                api_times.append(timed(client, f"/api/records?{query}"))
        api, page = summary(api_times), summary(page_times)
        ratio = {key: round(page[key] / api[key], 2) for key in ("p50", "p95")}
        figures[kind] = {"api_ms": api, "page_ms": page, "page_over_api": ratio}
        print(
            f"{kind:14} api p50 {api['p50']:7.2f} p95 {api['p95']:7.2f} ms | "
            f"page p50 {page['p50']:7.2f} p95 {page['p95']:7.2f} ms | "
            f"ratio p50 {ratio['p50']:.2f} p95 {ratio['p95']:.2f}"
        )

    ids = [record.id for record in store.iter_records(batch=5000)]
    sample = rng.sample(ids, min(len(ids), args.rounds * 5))
    timed(client, f"/records/{sample[0]}")
    landing = [timed(client, f"/records/{rid}") for rid in sample]
    api_record = [timed(client, f"/api/records/{rid}") for rid in sample]
    figures["landing_ms"] = summary(landing)
    figures["api_record_ms"] = summary(api_record)
    print(
        f"landing page   p50 {figures['landing_ms']['p50']:.2f} "
        f"p95 {figures['landing_ms']['p95']:.2f} ms "
        f"(API JSON of the record: p50 {figures['api_record_ms']['p50']:.2f} ms)"
    )

    worst = max(max(figures[kind]["page_over_api"].values()) for kind in kinds if kind in figures)
    figures["worst_page_over_api"] = worst
    figures["page_goal_met"] = worst <= PAGE_GOAL
    figures["landing_goal_met"] = figures["landing_ms"]["p95"] < LANDING_P95_GOAL_MS
    print(
        f"search page / API worst ratio {worst:.2f} (goal <= {PAGE_GOAL}); landing p95 "
        f"{figures['landing_ms']['p95']:.2f} ms (goal < {LANDING_P95_GOAL_MS})"
    )
    store.dispose()
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
