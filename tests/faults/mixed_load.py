"""Mixed load on a real `catalogue serve` while `catalogue harvest` writes the same store:
clients searching, paging OAI-PMH ListRecords and depositing records (shared by
tests/faults/test_mixed_load.py and benchmarks/mixed_load_bench.py).

Every answer is checked: no 5xx, no "database is locked" in any body; every 201 is read
back afterwards; at the end the index must equal the store (the total of an empty search
equals the live records of the store, and sampled deposits are found by their own words).
"""

from __future__ import annotations

import os
import random
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[2]
TOKEN = re.compile(rb"<resumptionToken[^>]*>([^<]+)</resumptionToken>")
WORDS = ("ocean", "climate", "glacier", "river", "soil", "forest", "data", "record")


@dataclass
class Figures:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[str, dict[int, int]] = field(default_factory=lambda: defaultdict(dict))
    server_errors: list[str] = field(default_factory=list)
    locked: int = 0
    created: list[tuple[str, str]] = field(default_factory=list)  # (Location, its word)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, endpoint: str, response: requests.Response, seconds: float) -> None:
        with self.lock:
            self.latencies[endpoint].append(seconds)
            counts = self.statuses[endpoint]
            counts[response.status_code] = counts.get(response.status_code, 0) + 1
            if response.status_code >= 500:
                self.server_errors.append(
                    f"{endpoint} {response.status_code} {response.text[:200]}"
                )
            if b"database is locked" in response.content:
                self.locked += 1

    def summary(self, seconds: float) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for endpoint, values in sorted(self.latencies.items()):
            ordered = sorted(values)
            out[endpoint] = {
                "requests": len(values),
                "per_second": round(len(values) / seconds, 1),
                "p50_ms": round(statistics.median(ordered) * 1000, 1),
                "p95_ms": round(ordered[int(len(ordered) * 0.95) - 1] * 1000, 1)
                if len(ordered) >= 20
                else round(ordered[-1] * 1000, 1),
                "statuses": dict(sorted(self.statuses[endpoint].items())),
            }
        return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def catalogue(env: dict[str, str], *args: str, **kw: Any) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "catalogue", *args], env=env, cwd=ROOT, **kw)


def environment(data_dir: Path, database_url: str) -> dict[str, str]:
    env = dict(os.environ, CATALOGUE_DATA_DIR=str(data_dir), CATALOGUE_DATABASE_URL=database_url)
    env.pop("CATALOGUE_CONFIG", None)
    return env


def start_serve(env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = catalogue(env, "serve", "--port", str(port), stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            requests.get(f"{base}/api/records?size=1", timeout=2)
            return proc, base
        except requests.ConnectionError:
            if proc.poll() is not None:
                output = proc.stderr.read() if proc.stderr else ""
                raise RuntimeError(f"serve exited: {output}") from None
            time.sleep(0.2)
    raise RuntimeError("serve did not start")


def deposit_body(n: int, word: str) -> dict[str, Any]:
    return {
        "metadata": {
            "titles": [{"title": f"Load test record {word} number {n}"}],
            "creators": [{"name": "Doe, Jane"}],
            "publisher": "Load Test",
            "publicationYear": "2024",
            "types": {"resourceTypeGeneral": "Dataset"},
        }
    }


def client_loop(
    base: str, token: str, figures: Figures, stop: threading.Event, seed: int, tag: str
) -> None:
    rng = random.Random(seed)
    session = requests.Session()
    headers = {"Authorization": f"Bearer {token}"}
    oai_token: bytes | None = None
    n = 0
    while not stop.is_set():
        choice = rng.random()
        started = time.monotonic()
        if choice < 0.4:
            response = session.get(f"{base}/api/records", params={"q": rng.choice(WORDS)},
                                   timeout=60)  # fmt: skip
            figures.note("search", response, time.monotonic() - started)
        elif choice < 0.7:
            params = (
                {"verb": "ListRecords", "resumptionToken": oai_token.decode()}
                if oai_token
                else {"verb": "ListRecords", "metadataPrefix": "oai_dc"}
            )
            response = session.get(f"{base}/oai", params=params, timeout=60)
            figures.note("oai_list_records", response, time.monotonic() - started)
            found = TOKEN.search(response.content)
            oai_token = found.group(1) if found and rng.random() < 0.8 else None
        else:
            n += 1
            word = f"lt{tag}c{seed}x{n}"  # one word per deposit, over every load run
            response = session.post(f"{base}/api/records", json=deposit_body(n, word),
                                    headers=headers, timeout=60)  # fmt: skip
            figures.note("ingest_post", response, time.monotonic() - started)
            if response.status_code == 201:
                with figures.lock:
                    figures.created.append((response.headers["Location"], word))


def run_load(base: str, token: str, seconds: float, clients: int = 8) -> Figures:
    figures = Figures()
    stop = threading.Event()
    tag = uuid.uuid4().hex[:6]
    threads = [
        threading.Thread(target=client_loop, args=(base, token, figures, stop, i, tag), daemon=True)
        for i in range(clients)
    ]
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join(120)
    return figures


def check_after(base: str, figures: Figures, live_records: int, sample: int = 20) -> list[str]:
    """Problems found after the load (empty when all is well): unreadable 201s, an index
    that differs from the store."""
    problems = []
    for location, _word in figures.created:
        answer = requests.get(location, timeout=30)
        if answer.status_code != 200:
            problems.append(f"{location}: {answer.status_code}")
    deadline = time.monotonic() + 60
    total = None
    while time.monotonic() < deadline:
        total = requests.get(f"{base}/api/records", params={"size": 1}, timeout=30).json()["total"]
        if total == live_records:
            break
        time.sleep(0.5)
    if total != live_records:
        problems.append(f"index has {total} records, the store {live_records}")
    for _location, word in random.Random(1).sample(
        figures.created, min(sample, len(figures.created))
    ):
        hits = requests.get(f"{base}/api/records", params={"q": word}, timeout=30).json()
        if hits["total"] != 1:
            problems.append(f"deposit {word}: {hits['total']} hits")
    return problems
