"""Page memory benchmark: peak RSS growth of one large ListRecords page, per byte of page.

    .venv/bin/python benchmarks/page_memory_bench.py [--sizes 5 20 45] [--root PATH]

A synthetic OAI-PMH server (benchmarks/synthetic_oai.py's records, run here in a
subprocess so its memory is not counted) answers ListRecords with the whole list on one
page of about 5, 20 and 45 MB. For each size a fresh child process fetches and parses that
page with ``OAIClient.iter_pages`` and holds the page as a harvest holds it while storing
it (every record's raw bytes read); its peak RSS growth (VmHWM after, minus VmRSS before,
the high-water mark reset first) is divided by the page's size. The anchor is the same
child's parse of a 0.1 MB page, and CPU milliseconds per 1,000 records are printed too
(the machine is shared: CPU time, not wall time). ``--root`` measures another checkout's
``harvester`` (e.g. ``--root /work/main`` for the figures before a change).

Prints the figures; the last line is one JSON object of them.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MB = 1 << 20


def serve(port_file: str) -> None:
    """The server process: /oai/<n> lists n synthetic records on one page."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from urllib.parse import parse_qs, urlsplit

    from synthetic_oai import respond

    cache: dict[int, bytes] = {}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802 - http.server naming
            parts = urlsplit(self.path)
            total = int(parts.path.rstrip("/").rsplit("/", 1)[-1])
            if total not in cache:
                cache.clear()  # one large page at a time
                cache[total] = respond(total, parse_qs(parts.query), total).encode()
            data = cache[total]
            self.send_response(200)
            self.send_header("Content-Type", "text/xml; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *a: object) -> None:  # noqa: A002
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    Path(port_file).write_text(str(server.server_address[1]))
    server.serve_forever()


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise LookupError(field)


def _reset_peak() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0); False where that is not allowed."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(url: str, records: int, root: str, queue: mp.Queue) -> None:
    """In a child: the peak RSS growth of parsing one page of ``records`` records."""
    import gc

    sys.path.insert(0, root)
    from dataclasses import replace

    from catalogue.config import load_settings
    from harvester.oai import OAIClient

    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings({"data_dir": tmp}, env={}).harvest
    settings = replace(settings, max_page_bytes=50 * MB, response_timeout=600, timeout=120)
    with OAIClient(url.rsplit("/", 1)[0] + "/10", settings) as client:
        warm = next(client.iter_pages("oai_dc"))  # imports, session, parser: not the page's
        _ = [r.raw for r in warm.records]
    del warm
    gc.collect()
    exact = _reset_peak()
    before_kb = _status_kb("VmRSS")
    cpu = _cpu_s()
    with OAIClient(url, settings) as client:
        page = next(client.iter_pages("oai_dc"))
        raw_bytes = sum(len(r.raw or b"") for r in page.records)
        count = len(page.records)
    cpu = _cpu_s() - cpu
    peak_kb = _status_kb("VmHWM") if exact else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    queue.put(
        {
            "records": count,
            "raw_mb": raw_bytes / MB,
            "growth_mb": max(0, peak_kb - before_kb) / 1024,
            "cpu_ms_per_1k": 1e6 * cpu / max(1, count),
            "exact_peak": exact,
        }
    )


def _in_child(*args: object) -> dict:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    child = ctx.Process(target=measure, args=(*args, queue))
    child.start()
    while True:
        try:
            result = queue.get(timeout=1)
            break
        except Exception:  # noqa: BLE001 - queue.Empty: the child may have died
            if not child.is_alive():
                raise RuntimeError(f"benchmark child failed (exit {child.exitcode})") from None
    child.join()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=float, nargs="+", default=[5, 20, 45], help="page MB")
    parser.add_argument("--root", default=str(ROOT), help="checkout whose harvester is measured")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from synthetic_oai import respond

    per_record = len(respond(1000, {"verb": ["ListRecords"]}, 1000).encode()) / 1000
    with tempfile.TemporaryDirectory() as tmp:
        port_file = Path(tmp) / "port"
        server = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(port_file)], cwd=str(ROOT)
        )
        try:
            while not port_file.exists() or not port_file.read_text():
                time.sleep(0.05)
            base = f"http://127.0.0.1:{port_file.read_text()}/oai"
            figures: dict[str, object] = {"root": args.root, "load": os.getloadavg()[0]}
            sizes = [0.1, *args.sizes]
            for size in sizes:
                n = max(1, round(size * MB / per_record))
                page_mb = len(respond(n, {"verb": ["ListRecords"]}, n).encode()) / MB
                result = _in_child(f"{base}/{n}", n, args.root)
                ratio = result["growth_mb"] / page_mb
                print(
                    f"page {page_mb:5.1f} MB ({result['records']} records, raw payloads "
                    f"{result['raw_mb']:.1f} MB): peak RSS growth {result['growth_mb']:6.1f} MB "
                    f"= {ratio:5.2f}x the page; CPU {result['cpu_ms_per_1k']:.0f} ms per 1k "
                    "records" + ("" if result["exact_peak"] else " (peak not reset: approximate)")
                )
                key = "anchor" if size == sizes[0] else f"{size:g}MB"
                figures[key] = {
                    "page_mb": round(page_mb, 2),
                    "growth_mb": round(result["growth_mb"], 1),
                    "ratio": round(ratio, 2),
                    "cpu_ms_per_1k": round(result["cpu_ms_per_1k"]),
                }
            figures["max_ratio"] = max(
                v["ratio"] for k, v in figures.items() if k.endswith("MB") and isinstance(v, dict)
            )
            print(f"largest peak RSS growth per page byte: {figures['max_ratio']}x")
            print(json.dumps(figures))
        finally:
            server.terminate()
            server.wait()


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--serve":
        serve(sys.argv[2])
    else:
        main()
