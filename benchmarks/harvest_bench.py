"""Harvest benchmark: bare sickle iteration vs the full pipeline (parse, map, store, index).

    .venv/bin/python benchmarks/harvest_bench.py [--n 100000] [--rss-n 10000]

A synthetic OAI-PMH server (benchmarks/synthetic_oai.py, pages of 500 oai_dc records) runs
in a subprocess. Each measurement runs in its own child process, so its peak RSS
(ru_maxrss) is its own: bare sickle over N records; the pipeline (``harvest_source`` into a
fresh SQLite store, then ``catch_up_if_free`` of the embedded index) over the RSS sizes and
N. Prints the figures; the last line is one JSON object of them.
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


def _sickle(url: str, queue: mp.Queue) -> None:
    from sickle import Sickle

    started = time.perf_counter()
    count = sum(1 for _ in Sickle(url).ListRecords(metadataPrefix="oai_dc"))
    seconds = time.perf_counter() - started
    queue.put({"records": count, "seconds": seconds, "rss_mb": _rss_mb()})


def _pipeline(url: str, queue: mp.Queue) -> None:
    sys.path.insert(0, str(ROOT))
    from catalogue.config import load_settings
    from catalogue.search.indexer import catch_up_if_free
    from catalogue.store import Store
    from harvester.runs import harvest_source

    # The index directory may still be busy when the child ends: leave cleanup to best effort.
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp:
        settings = load_settings({"data_dir": tmp}, env={})
        store = Store(settings["database_url"])
        store.migrate()
        store.add_source("bench", "oai-pmh", url, metadata_prefix="oai_dc")
        started = time.perf_counter()
        run = harvest_source(store, "bench", settings)
        harvested = time.perf_counter()
        indexed_count = catch_up_if_free(store, settings)
        done = time.perf_counter()
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
            }
        )
        store.dispose()


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _in_child(target, url: str) -> dict:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    child = ctx.Process(target=target, args=(url, queue))
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
        rates = {"sickle_records_per_s": sickle["records"] / sickle["seconds"]}
        print(
            f"bare sickle:  {sickle['records']} records in {sickle['seconds']:.1f} s "
            f"= {rates['sickle_records_per_s']:.0f}/s, peak RSS {sickle['rss_mb']:.0f} MB"
        )
        rss = {}
        for n in [*args.rss_n, args.n]:
            result = _in_child(_pipeline, f"{base}/{n}")
            rss[str(n)] = round(result["rss_mb"], 1)
            print(
                f"pipeline n={n}: {result['status']}, harvest {result['harvest_seconds']:.1f} s"
                f" + index {result['index_seconds']:.1f} s ({result['indexed']} docs), "
                f"peak RSS {result['rss_mb']:.0f} MB"
            )
        harvest_rate = result["records"] / result["harvest_seconds"]
        combined = result["records"] / result["seconds"]
        figures = {
            "n": args.n,
            "page_size": args.page_size,
            "sickle_records_per_s": round(rates["sickle_records_per_s"]),
            "harvest_records_per_s": round(harvest_rate),
            "index_records_per_s": round(result["records"] / result["index_seconds"]),
            "pipeline_records_per_s": round(combined),
            "harvest_ratio": round(harvest_rate / rates["sickle_records_per_s"], 3),
            "pipeline_ratio": round(combined / rates["sickle_records_per_s"], 3),
            "pipeline_peak_rss_mb": rss,
            "sickle_peak_rss_mb": round(sickle["rss_mb"], 1),
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
