"""Hostile-input benchmark: what the issue 18 attacks cost a real server now.

    .venv/bin/python benchmarks/hostile_bench.py [--bulky 12]

Runs `catalogue serve` (waitress and its indexer, SQLite, ``max_response_bytes`` 2 MiB so
that page bounds show with a dozen records) in a subprocess and measures, against anchors
taken in the same run (an ordinary deposit, an idle Identify, an ordinary page, the idle
server's RSS):

1. a JSON Patch of 26 self-``copy`` operations (took the server past 4.6 GB before);
2. ``^(a+)+$`` on 29 characters (16 s before), ``uniqueItems`` over 6,000 objects (2 min),
   a nested ``anyOf`` over 24 levels of arrays (exponential), and the latency of an
   anonymous Identify while that one runs;
3. 5,000 invalid records in one list (a 27.8 MB error response before);
4. search and OAI-PMH pages over ``--bulky`` records of ~0.9 MB, and the peak RSS growth
   of 4 concurrent OAI pages and 4 concurrent search pages of size 200.

Prints the figures; the last line is one JSON object of them.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

BUDGET = 2 * 1024 * 1024


def metadata(title: str, **extra: object) -> dict:
    return {"titles": [{"title": title}], "types": {"resourceTypeGeneral": "Dataset"}, **extra}


class Server:
    def __init__(self, data_dir: Path) -> None:
        self.env = dict(
            os.environ,
            CATALOGUE_DATA_DIR=str(data_dir),
            CATALOGUE_MAX_RESPONSE_BYTES=str(BUDGET),
            CATALOGUE_SEARCH_INDEXER_INTERVAL="0.2",
        )
        self.env.pop("CATALOGUE_DATABASE_URL", None)
        self.env.pop("CATALOGUE_CONFIG", None)
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "catalogue", "serve", "--port", str(port), "--threads", "6"],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(self.url + "/oai?verb=Identify", timeout=1).ok:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("catalogue serve did not start")
            time.sleep(0.2)
        self.admin = {"Authorization": f"Bearer {self.token('admin')}"}
        self.depositor = {"Authorization": f"Bearer {self.token('depositor')}"}

    def token(self, role: str) -> str:
        out = subprocess.run(
            [sys.executable, "-m", "catalogue", "tokens", "create", "--role", role],
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
        )
        return out.stdout.strip().splitlines()[-1]

    def memory(self) -> dict[str, float]:
        out = {}
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                out[name] = int(value.split()[0]) / 1024
        return out

    def reset_peak(self) -> float:
        Path(f"/proc/{self.process.pid}/clear_refs").write_text("5")
        return self.memory()["VmRSS"]

    def post(self, body: object, path: str = "/api/records", admin: bool = False):
        headers = self.admin if admin else self.depositor
        return requests.post(self.url + path, json=body, headers=headers, timeout=120)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(20)


def timed(call):
    start = time.perf_counter()
    result = call()
    return result, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bulky", type=int, default=12)
    args = parser.parse_args()
    figures: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        server = Server(Path(tmp) / "var")
        try:
            run(server, args.bulky, figures)
        finally:
            server.stop()
    print(json.dumps(figures))


def run(server: Server, bulky: int, figures: dict[str, object]) -> None:
    figures["idle_rss_mb"] = round(server.memory()["VmRSS"])
    r, anchor = timed(lambda: server.post({"metadata": metadata("ordinary")}))
    assert r.status_code == 201, r.text
    _, identify_idle = timed(lambda: requests.get(server.url + "/oai?verb=Identify"))
    figures.update(deposit_anchor_s=round(anchor, 3), identify_idle_ms=round(identify_idle * 1e3))
    print(f"anchors: ordinary deposit {anchor * 1e3:.0f} ms, idle Identify "
          f"{identify_idle * 1e3:.0f} ms, idle RSS {figures['idle_rss_mb']} MB")  # fmt: skip

    r = server.post({"metadata": metadata("d", descriptions=[{"description": "x" * 50_000}])})
    rid, etag = r.json()["id"], r.headers["ETag"]
    ops = [{"op": "copy", "from": "/metadata", "path": "/metadata/descriptions/0/more"}] * 26
    base = server.reset_peak()
    r, seconds = timed(lambda: requests.patch(
        f"{server.url}/api/records/{rid}", data=json.dumps(ops),
        headers={**server.depositor, "If-Match": etag,
                 "Content-Type": "application/json-patch+json"}))  # fmt: skip
    growth = server.memory()["VmHWM"] - base
    figures.update(
        patch_status=r.status_code, patch_s=round(seconds, 3), patch_peak_mb=round(growth)
    )
    print(f"patch, 26 self-copies: {r.status_code} in {seconds:.2f} s "
          f"({seconds / anchor:.1f}x a deposit), peak RSS +{growth:.0f} MB")  # fmt: skip

    def schema(schema_id: str, content: object) -> None:
        body = {"id": schema_id, "type": "json", "content": content}
        assert server.post(body, "/api/schemas", admin=True).status_code == 201

    schema("redos", {"properties": {"v": {"pattern": "^(a+)+$"}}})
    server.post({"metadata": metadata("warm", extra={"v": "a"}), "schema": "redos"})
    r, seconds = timed(lambda: server.post(
        {"metadata": metadata("r", extra={"v": "a" * 29 + "!"}), "schema": "redos"}))  # fmt: skip
    figures.update(redos_status=r.status_code, redos_s=round(seconds, 3))
    print(f"^(a+)+$ on 29 characters: {r.status_code} in {seconds * 1e3:.0f} ms "
          f"({seconds / anchor:.1f}x a deposit; 16 s before)")  # fmt: skip
    schema("unique", {"properties": {"v": {"uniqueItems": True}}})
    items = [{"n": n, "tags": [str(n)]} for n in range(6000)]
    r, seconds = timed(lambda: server.post(
        {"metadata": metadata("u", extra={"v": items}), "schema": "unique"}))  # fmt: skip
    figures.update(unique_status=r.status_code, unique_s=round(seconds, 3))
    print(f"uniqueItems over 6,000 objects: {r.status_code} in {seconds * 1e3:.0f} ms "
          f"(2 min before)")  # fmt: skip
    branch = {"type": "array", "items": {"$ref": "#/$defs/n"}}
    schema("exploding", {"$defs": {"n": {"anyOf": [branch, dict(branch)]}},
                         "properties": {"v": {"$ref": "#/$defs/n"}}})  # fmt: skip
    nested: object = 1
    for _ in range(24):
        nested = [nested]
    meanwhile: list[float] = []

    def identify() -> None:
        time.sleep(0.3)
        meanwhile.append(timed(lambda: requests.get(server.url + "/oai?verb=Identify"))[1])

    side = threading.Thread(target=identify)
    side.start()
    r, seconds = timed(lambda: server.post(
        {"metadata": metadata("e", extra={"v": nested}), "schema": "exploding"}))  # fmt: skip
    side.join()
    figures.update(exploding_status=r.status_code, exploding_s=round(seconds, 2),
                   identify_meanwhile_ms=round(meanwhile[0] * 1e3))  # fmt: skip
    print(f"nested anyOf, 24 levels: {r.status_code} in {seconds:.2f} s (timeout 2 s); "
          f"Identify meanwhile {meanwhile[0] * 1e3:.0f} ms = "
          f"{meanwhile[0] / identify_idle:.1f}x idle")  # fmt: skip

    bad = {"metadata": {"titles": [{"title": 5}], "types": {"resourceTypeGeneral": "Nonsense"},
                        "language": "x" * 500, "publicationYear": "y"}}  # fmt: skip
    body = [bad] * 5000
    body[0] = {"metadata": {"titles": "z" * 3_000_000, "types": {"resourceTypeGeneral": "X"}}}
    raw = json.dumps(body)
    r, seconds = timed(lambda: requests.post(
        server.url + "/api/records", data=raw,
        headers={**server.depositor, "Content-Type": "application/json"}))  # fmt: skip
    figures.update(
        invalid_list_mb=round(len(raw) / 1e6, 1),
        error_response_mb=round(len(r.content) / 1e6, 2),
        invalid_list_s=round(seconds, 1),
    )
    print(f"5,000 invalid records ({len(raw) / 1e6:.1f} MB): {r.status_code} in {seconds:.1f} s, "
          f"error response {len(r.content) / 1e6:.2f} MB (27.8 MB before)")  # fmt: skip

    for n in range(bulky):
        descriptions = [{"description": f"bulky{n} " + "z" * 99_000}] * 9
        assert server.post({"metadata": metadata(f"bulky {n}", descriptions=descriptions)}).ok
    while (
        requests.get(server.url + "/api/records", params={"q": "bulky", "size": 0}).json()["total"]
        < bulky
    ):
        time.sleep(0.3)
    small, small_s = timed(
        lambda: requests.get(server.url + "/api/records", params={"q": "ordinary"})
    )
    r, seconds = timed(lambda: requests.get(server.url + "/api/records", params={"q": "bulky"}))
    figures.update(
        search_page_mb=round(len(r.content) / 1e6, 2),
        search_page_hits=len(r.json()["hits"]),
        search_page_s=round(seconds, 3),
        search_anchor_s=round(small_s, 3),
    )
    print(f"search page over {bulky} x 0.9 MB records: {len(r.json()['hits'])} hits, "
          f"{len(r.content) / 1e6:.2f} MB (budget {BUDGET / 1e6:.1f} MB), {seconds * 1e3:.0f} ms "
          f"= {seconds / small_s:.1f}x an ordinary page")  # fmt: skip
    params = {"verb": "ListRecords", "metadataPrefix": "oai_dc", "set": "source:local"}
    r, seconds = timed(lambda: requests.get(server.url + "/oai", params=params))
    figures.update(
        oai_page_mb=round(len(r.content) / 1e6, 2), oai_page_records=r.text.count("<record>")
    )
    print(f"OAI-PMH page: {r.text.count('<record>')} records, {len(r.content) / 1e6:.2f} MB, "
          f"{seconds * 1e3:.0f} ms")  # fmt: skip
    base = server.reset_peak()
    threads = [threading.Thread(target=requests.get, args=(server.url + "/oai",),
                                kwargs={"params": params}) for _ in range(4)]  # fmt: skip
    search = {"params": {"q": "bulky", "size": 200}}
    threads += [
        threading.Thread(target=requests.get, args=(server.url + "/api/records",), kwargs=search)
        for _ in range(4)
    ]
    _, seconds = timed(lambda: [t.start() for t in threads] and [t.join() for t in threads])
    growth = server.memory()["VmHWM"] - base
    figures.update(concurrent_peak_mb=round(growth), concurrent_s=round(seconds, 2))
    print(f"4 OAI + 4 search pages at once: {seconds:.1f} s, peak RSS +{growth:.0f} MB "
          f"({growth / figures['idle_rss_mb']:.2f}x the idle server; 1 GB before)")  # fmt: skip


if __name__ == "__main__":
    main()
