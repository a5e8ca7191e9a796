"""A real ``catalogue serve`` process per backend (SQLite, PostgreSQL) for the hostile-input
suite: requests go over HTTP to waitress, and the server's memory is read from
``/proc/<pid>/status`` (VmRSS now, VmHWM the peak since :meth:`Served.reset_peak`)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import create_engine, text

PG_URL = os.environ.get(
    "CATALOGUE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
# Settings of the served catalogue: a small response budget makes page bounds testable
# with a few records; a short schema timeout keeps the time-boxing test quick.
SERVER_ENV = {
    "CATALOGUE_MAX_RESPONSE_BYTES": str(2 * 1024 * 1024),
    "CATALOGUE_INGEST_SCHEMA_TIMEOUT": "1.5",
    "CATALOGUE_SEARCH_INDEXER_INTERVAL": "0.2",
}
DEFAULT = object()


@dataclass
class Served:
    url: str
    process: subprocess.Popen
    env: dict[str, str]
    data_dir: Path
    backend: str
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def pid(self) -> int:
        return self.process.pid

    def cli(self, *args: str, check: bool = True, **env: str) -> subprocess.CompletedProcess:
        proc = subprocess.run(
            [sys.executable, "-m", "catalogue", *args],
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=120,
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"catalogue {' '.join(args)} failed:\n{proc.stderr}")
        return proc

    def call(
        self, method: str, path: str, *, token: Any = DEFAULT, headers: dict | None = None, **kw
    ) -> requests.Response:
        headers = dict(headers or {})
        token = self.tokens["depositor"] if token is DEFAULT else token
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        kw.setdefault("timeout", 60)
        return requests.request(method, self.url + path, headers=headers, **kw)

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.call("GET", path, token=kw.pop("token", None), **kw)

    def status(self) -> dict[str, int]:
        """VmRSS and VmHWM of the server process, in KiB."""
        out = {}
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                out[name] = int(value.split()[0])
        return out

    def reset_peak(self) -> None:
        """Reset VmHWM to the current RSS (Linux: write 5 to clear_refs)."""
        Path(f"/proc/{self.pid}/clear_refs").write_text("5")

    def peak_growth_mb(self, since_kb: int) -> float:
        return (self.status()["VmHWM"] - since_kb) / 1024


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    data_dir = tmp_path_factory.mktemp("served") / "var"  # created by the catalogue
    schema = None
    if request.param == "sqlite":
        db_url = f"sqlite:///{data_dir / 'catalogue.sqlite3'}"
    else:
        schema = f"h_{uuid.uuid4().hex[:12]}"
        admin = create_engine(PG_URL)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        db_url = f"{PG_URL}{'&' if '?' in PG_URL else '?'}options=-csearch_path%3D{schema}"
    env = dict(
        os.environ, CATALOGUE_DATA_DIR=str(data_dir), CATALOGUE_DATABASE_URL=db_url, **SERVER_ENV
    )
    env.pop("CATALOGUE_CONFIG", None)
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "catalogue", "serve", "--port", str(port), "--threads", "6"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    served = Served(f"http://127.0.0.1:{port}", process, env, data_dir, request.param)
    try:
        _wait_up(served)
        for role in ("admin", "depositor"):
            out = served.cli("tokens", "create", "--role", role, "--name", f"{role}-1")
            served.tokens[role] = out.stdout.strip().splitlines()[-1]
        yield served
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if schema is not None:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


def _wait_up(served: Served) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if served.process.poll() is not None:
            raise AssertionError(f"catalogue serve exited with {served.process.returncode}")
        try:
            if served.get("/oai?verb=Identify", timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    raise AssertionError("catalogue serve did not answer within 60 s")


@pytest.fixture
def timed() -> Iterator[Any]:
    """``with timed(limit): ...`` asserts the block took at most ``limit`` seconds."""

    class _Timer:
        def __call__(self, limit: float) -> _Timer:
            self.limit = limit
            return self

        def __enter__(self) -> _Timer:
            self.start = time.monotonic()
            return self

        def __exit__(self, *exc: object) -> None:
            self.seconds = time.monotonic() - self.start
            if exc[0] is None:
                assert self.seconds <= self.limit, f"took {self.seconds:.1f} s > {self.limit} s"

    yield _Timer()
