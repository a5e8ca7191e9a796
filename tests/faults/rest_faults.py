"""A paginated JSON API (the generic ``json`` source type, page-number paging) that fails
on request: a fraction ``rate`` of listing requests (seeded) get 500/502/503, with or without
Retry-After, or a connection closed mid-body. Every request is logged. A record's own URL
(``/records/<id>``) answers 404, or with ``hang_records`` never answers until ``release``."""

from __future__ import annotations

import json
import random
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

CONFIG = {
    "records": "data.items",
    "paging": {"style": "page", "size": 20, "total_path": "total"},
    "id": "productId",
    "fields": {"titles": "title", "creators": "creator", "publicationYear": "year"},
    "defaults": {"resourceTypeGeneral": "Dataset", "publisher": "Fault API"},
}
"""The source config of a ``json`` source harvesting this server."""


def record(i: int) -> dict:
    return {"productId": f"p{i}", "title": f"Product {i}", "creator": "Doe, Jane", "year": "2021"}


class RestFaultServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, n: int, *, rate: float = 0.0, seed: int | None = None,
                 page_delay: float = 0.0) -> None:  # fmt: skip
        super().__init__(("127.0.0.1", 0), _Handler)
        self.records = [record(i) for i in range(n)]
        self.rate = rate
        self.rng = random.Random(seed)
        self.page_delay = page_delay
        self.log: list[dict[str, str]] = []
        self.injected = 0
        self.fault_log: list[int] = []
        self.hang_records = False
        self.record_asked = threading.Event()
        self.release = threading.Event()
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/records"

    def list_requests(self) -> list[dict[str, str]]:
        with self._lock:
            return list(self.log)

    def faults_since(self, index: int) -> int:
        with self._lock:
            return sum(1 for i in self.fault_log if i >= index)

    def start(self) -> RestFaultServer:
        threading.Thread(target=self.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        self.release.set()
        self.shutdown()
        self.server_close()

    def handle_error(self, request: object, client_address: object) -> None:
        """Clients killed mid-request are part of the tests."""


class _Handler(BaseHTTPRequestHandler):
    server: RestFaultServer
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 - the http.server naming
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        server = self.server
        if parts.path.startswith("/records/"):
            self.record(server)
            return
        with server._lock:
            server.log.append(query)
            fault = server.rate and server.rng.random() < server.rate
            kind = server.rng.choice(("500", "502", "503", "503r", "close")) if fault else ""
            if fault:
                server.injected += 1
                server.fault_log.append(len(server.log) - 1)
        if server.page_delay:
            time.sleep(server.page_delay)
        if kind and kind != "close":
            self.send_response(int(kind[:3]))
            if kind == "503r":
                self.send_header("Retry-After", "0")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        size = int(query.get("size", 20))
        start = (int(query.get("page", 1)) - 1) * size
        body = json.dumps(
            {"data": {"items": server.records[start : start + size]}, "total": len(server.records)}
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if kind == "close":
            self.wfile.write(body[: len(body) // 2])
            self.close_connection = True
            return
        self.wfile.write(body)

    def record(self, server: RestFaultServer) -> None:
        """A record's own URL (a deletion check): gone, after hanging when asked to."""
        server.record_asked.set()
        if server.hang_records:
            server.release.wait(120)
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass
