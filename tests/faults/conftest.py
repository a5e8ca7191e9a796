"""Fixtures of the fault tests: a fault-injecting OAI-PMH server, a store, fast settings."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from catalogue.config import load_settings
from catalogue.store import Store, create_store_engine
from tests.faults.oai_faults import FaultServer, make_repository


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test under tests/faults is a ``faults`` test (``pytest -m faults``)."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.faults)


@pytest.fixture
def fault_server() -> Iterator[Callable[..., FaultServer]]:
    """fault_server(records=100, page_size=10, **FaultServer options) -> a started server."""
    started: list[FaultServer] = []

    def start(
        records: int = 100, page_size: int = 10, start: datetime | None = None, **options: Any
    ) -> FaultServer:
        repository = make_repository(records, page_size, start=start)
        server = FaultServer(repository, **options).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    store = Store(create_store_engine(f"sqlite:///{tmp_path / 'catalogue.sqlite3'}"))
    store.migrate()
    yield store
    store.dispose()


def fast_settings(tmp_path: Path, **harvest: Any) -> dict:
    """Settings with short timeouts and retries (the loopback deny-list left open)."""
    values = {"backoff": 0.01, "max_retries": 3, "timeout": 2, "response_timeout": 5}
    return load_settings({"data_dir": str(tmp_path), "harvest": {**values, **harvest}}, env={})
