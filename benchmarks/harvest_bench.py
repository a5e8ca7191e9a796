"""Harvest benchmark: bare sickle iteration vs the full pipeline (parse, map, store, index).

    .venv/bin/python benchmarks/harvest_bench.py [--n 100000] [--rss-n 10000]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/test]

A synthetic OAI-PMH server (benchmarks/synthetic_oai.py, pages of 500 oai_dc records) runs
in a subprocess. Each measurement runs in its own child process, so its peak RSS
(ru_maxrss) is its own: bare sickle over N records (as is, and with the GC settings the
`catalogue` command uses); the pipeline exactly as `catalogue harvest` runs it
(``harvest_source`` into a fresh store, SQLite unless ``--database-url`` names a
PostgreSQL database (a throw-away schema of it), while an indexer process follows the change
log into the embedded index, then the rest of the log applied) over the RSS sizes and N.
Prints the figures; the last line is one JSON object of them.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import queue as queue_module
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _sickle(url: str, queue: mp.Queue, tuned: bool = False) -> None:
    from sickle import Sickle

    if tuned:  # the same interpreter settings `catalogue harvest` runs with
        sys.path.insert(0, str(ROOT))
        from catalogue.runtime import tune_gc

        tune_gc()

    started = time.perf_counter()
    count = sum(1 for _ in Sickle(url).ListRecords(metadataPrefix="oai_dc"))
    seconds = time.perf_counter() - started
    queue.put({"records": count, "seconds": seconds, "rss_mb": _rss_mb(), "cpu_s": _cpu_s()})


def _pipeline(url: str, queue: mp.Queue, database_url: str | None = None) -> None:
    sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]
    from bench_db import bench_database

    from catalogue.config import load_settings
    from catalogue.runtime import tune_gc
    from catalogue.search.indexer import catch_up_if_free, indexing_alongside
    from catalogue.store import Store
    from harvester.harvest import harvest_source

    tune_gc()  # as the `catalogue` command does at start-up

    # The index directory may still be busy when the child ends: leave cleanup to best effort.
    with (
        tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp,
        bench_database(database_url) as db_url,
    ):
        overrides = {"data_dir": tmp} | ({"database_url": db_url} if db_url else {})
        settings = load_settings(overrides, env={})
        store = Store(settings["database_url"])
        store.migrate()
        store.add_source("bench", "oai-pmh", url, metadata_prefix="oai_dc")
        # Exactly what `catalogue harvest` does: an indexer process follows the change log
        # while the harvest runs, then whatever is left is applied before the command ends.
        started = time.perf_counter()
        with indexing_alongside(settings):
            run = harvest_source(store, "bench", settings)
            harvested = time.perf_counter()
        catch_up_if_free(store, settings)
        done = time.perf_counter()
        indexed_count = _indexed(settings)
        queue.put(
            {
                "status": run.status,
                "records": run.counts.seen,
                "added": run.counts.added,
                "harvest_seconds": harvested - started,
                "index_seconds": done - harvested,
                "indexed": indexed_count,
                "seconds": done - started,
                "rss_mb": _rss_mb(),
                "cpu_s": _cpu_s(),
                "indexer_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
            }
        )
        store.dispose()


def _indexed(settings: dict) -> int:
    from catalogue.search.indexer import open_index

    index = open_index(settings, writer=False)
    try:
        return index.count()
    finally:
        index.close()


def _cpu_s() -> float:
    """CPU seconds of this process and its ended children (the indexer, mapping workers):
    on a shared, noisy host the CPU a record costs varies less than the wall clock."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _in_child(target, url: str, *extra: object) -> dict:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    child = ctx.Process(target=target, args=(url, queue, *extra))
    child.start()
    while True:
        try:
            result = queue.get(timeout=1)
            break
        except queue_module.Empty:
            if not child.is_alive():
                raise RuntimeError(f"benchmark child failed (exit code {child.exitcode})") from None
    child.join()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="records of the main run")
    parser.add_argument(
        "--rss-n",
        type=int,
        nargs="*",
        default=[10_000],
        help="extra pipeline sizes measured for peak RSS",
    )
    parser.add_argument("--page-size", type=int, default=500)
    parser.add_argument(
        "--database-url", help="a PostgreSQL URL (a throw-away schema of it); default SQLite"
    )
    args = parser.parse_args()

    server = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "synthetic_oai.py"),
            "--page-size",
            str(args.page_size),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        port = int(server.stdout.readline().split()[1])
        base = f"http://127.0.0.1:{port}/oai"
        sickle = _in_child(_sickle, f"{base}/{args.n}")
        tuned = _in_child(_sickle, f"{base}/{args.n}", True)
        rates = {
            "sickle_records_per_s": sickle["records"] / sickle["seconds"],
            "sickle_tuned_records_per_s": tuned["records"] / tuned["seconds"],
        }
        print(
            f"bare sickle:  {sickle['records']} records in {sickle['seconds']:.1f} s "
            f"= {rates['sickle_records_per_s']:.0f}/s, peak RSS {sickle['rss_mb']:.0f} MB; "
            f"with the catalogue's GC settings {rates['sickle_tuned_records_per_s']:.0f}/s"
        )
        rss: dict[str, float] = {}
        indexer_rss: dict[str, float] = {}
        for n in [*args.rss_n, args.n]:
            result = _in_child(_pipeline, f"{base}/{n}", args.database_url)
            rss[str(n)] = round(result["rss_mb"], 1)
            indexer_rss[str(n)] = round(result["indexer_rss_mb"], 1)
            print(
                f"pipeline n={n}: {result['status']}, harvest {result['harvest_seconds']:.1f} s"
                f" + index tail {result['index_seconds']:.1f} s ({result['indexed']} docs), "
                f"peak RSS {result['rss_mb']:.0f} MB "
                f"(indexer process {result['indexer_rss_mb']:.0f} MB)"
            )
        harvest_rate = result["records"] / result["harvest_seconds"]
        combined = result["records"] / result["seconds"]
        figures = {
            "database": "postgresql" if args.database_url else "sqlite",
            "n": args.n,
            "page_size": args.page_size,
            "sickle_records_per_s": round(rates["sickle_records_per_s"]),
            "harvest_records_per_s": round(harvest_rate),
            "index_tail_seconds": round(result["index_seconds"], 2),
            "pipeline_records_per_s": round(combined),
            "harvest_ratio": round(harvest_rate / rates["sickle_records_per_s"], 3),
            "pipeline_ratio": round(combined / rates["sickle_records_per_s"], 3),
            "sickle_tuned_records_per_s": round(rates["sickle_tuned_records_per_s"]),
            "pipeline_ratio_vs_tuned_sickle": round(
                combined / rates["sickle_tuned_records_per_s"], 3
            ),
            "pipeline_peak_rss_mb": rss,
            "indexer_peak_rss_mb": indexer_rss,
            "sickle_peak_rss_mb": round(sickle["rss_mb"], 1),
            "sickle_cpu_ms_per_1k": round(1e6 * sickle["cpu_s"] / sickle["records"]),
            "pipeline_cpu_ms_per_1k": round(1e6 * result["cpu_s"] / result["records"]),
        }
        print(
            f"pipeline (harvest + index): {combined:.0f}/s = "
            f"{figures['pipeline_ratio']:.2f}x bare sickle "
            f"(harvest alone {figures['harvest_ratio']:.2f}x)"
        )
        print(json.dumps(figures))
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
