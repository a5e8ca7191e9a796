"""Measure the embedded search index: rebuild from a SQLite store, then query latency.

    .venv/bin/python benchmarks/search_bench.py --records 100000 --workdir /tmp/search-bench

Prints human-readable figures and, last, one JSON line with all of them.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from catalogue.search.base import SearchQuery
from catalogue.search.embedded import TantivyIndex
from catalogue.search.indexer import Indexer
from catalogue.store import IncomingRecord, Store

TYPES = ["Dataset", "Software", "Text", "Image", "Collection", "JournalArticle", "Model"]
LICENCES = [
    {"rightsIdentifier": "CC-BY-4.0"},
    {"rightsIdentifier": "CC0-1.0"},
    {"rightsUri": "info:eu-repo/semantics/closedAccess"},
    {"rightsUri": "info:eu-repo/semantics/embargoedAccess"},
    {"rights": "All rights reserved"},
]


def vocabulary(rng: random.Random, size: int) -> list[str]:
    syllables = ["ka", "lo", "mi", "ne", "ru", "ta", "vo", "si", "de", "pa", "qu", "zen", "ox"]
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))))
    return sorted(words)


def make_metadata(i: int, rng: random.Random, words: list[str], weights: list[float]) -> dict:
    def text(n: int) -> str:
        return " ".join(rng.choices(words, weights, k=n))

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


def fill(store: Store, count: int, rng: random.Random) -> list[str]:
    words = vocabulary(rng, 5000)
    weights = [1 / (rank + 1) for rank in range(len(words))]
    sources = [f"repo{n}" for n in range(12)]
    for start in range(0, count, 1000):
        pages: dict[str, list[IncomingRecord]] = {}
        for i in range(start, min(start + 1000, count)):
            md = make_metadata(i, rng, words, weights)
            pages.setdefault(sources[i % len(sources)], []).append(IncomingRecord(f"r{i}", md))
        for source, items in pages.items():
            store.upsert_page(source, items)
    return words


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="search-bench-"))
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    rng = random.Random(42)
    figures: dict[str, Any] = {"records": args.records}

    store = Store(f"sqlite:///{workdir / 'catalogue.sqlite3'}")
    store.migrate()
    started = time.perf_counter()
    words = fill(store, args.records, rng)
    figures["store_fill_s"] = round(time.perf_counter() - started, 1)
    print(f"store filled with {args.records} records in {figures['store_fill_s']} s")

    writer = TantivyIndex(workdir / "index", writer=True)
    started = time.perf_counter()
    indexed = Indexer(store, writer).rebuild()
    figures["rebuild_s"] = round(time.perf_counter() - started, 1)
    figures["rebuild_docs_per_s"] = round(indexed / figures["rebuild_s"])
    size = sum(f.stat().st_size for f in (workdir / "index").iterdir() if f.is_file())
    figures["index_mb"] = round(size / 1e6, 1)
    print(f"rebuild: {indexed} docs in {figures['rebuild_s']} s, {figures['index_mb']} MB")

    reader = TantivyIndex(workdir / "index", writer=False)
    common = words[:10]
    timings = []
    totals = []
    for n in range(args.queries):
        query = SearchQuery(q=common[n % len(common)], size=20, facets=True)
        started = time.perf_counter()
        result = reader.search(query)
        timings.append((time.perf_counter() - started) * 1000)
        totals.append(result.total)
    figures["common_p50_ms"] = round(statistics.median(timings), 1)
    figures["common_p95_ms"] = round(percentile(timings, 95), 1)
    figures["common_mean_hits"] = round(statistics.mean(totals))
    print(
        f"common term + all {len(result.aggregations)} facets: p50 {figures['common_p50_ms']} ms, "
        f"p95 {figures['common_p95_ms']} ms (mean {figures['common_mean_hits']} hits)"
    )

    filtered = SearchQuery(q=common[0], filters={"type": ("Dataset",), "language": ("en", "de")})
    timings = []
    for _ in range(args.queries):
        started = time.perf_counter()
        reader.search(filtered)
        timings.append((time.perf_counter() - started) * 1000)
    figures["filtered_p50_ms"] = round(statistics.median(timings), 1)
    figures["filtered_p95_ms"] = round(percentile(timings, 95), 1)
    print(f"common term + 2 filters + facets: p50 {figures['filtered_p50_ms']} ms")

    timings = []
    for n in range(args.queries):
        started = time.perf_counter()
        result = reader.search(SearchQuery(q=f"rare{n * 7}", facets=True))
        timings.append((time.perf_counter() - started) * 1000)
        assert result.total == 1
    figures["rare_p50_ms"] = round(statistics.median(timings), 1)
    figures["rare_p95_ms"] = round(percentile(timings, 95), 1)
    print(f"rare term + facets: p50 {figures['rare_p50_ms']} ms, p95 {figures['rare_p95_ms']} ms")

    store.upsert_page(
        "repo0",
        [
            IncomingRecord(
                f"r{i}",
                {"titles": [{"title": f"fresh {i}"}], "types": {"resourceTypeGeneral": "Dataset"}},
            )
            for i in range(0, 12_000, 12)
        ],
    )
    started = time.perf_counter()
    applied = Indexer(store, writer).catch_up()
    reader.reload()
    figures["upserts_1000_visible_s"] = round(time.perf_counter() - started, 2)
    assert applied == 1000 and reader.search(SearchQuery(q="fresh")).total == 1000
    print(f"1000 updates applied and visible in {figures['upserts_1000_visible_s']} s")

    writer.close()
    reader.close()
    store.dispose()
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
