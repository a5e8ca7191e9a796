"""Fixtures for REST harvester tests: real API servers on localhost and fast settings."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from catalogue.config import load_settings
from harvester.settings import HarvestSettings

sys.path.insert(0, str(Path(__file__).resolve().parent))

from rest_servers import ApiServer  # noqa: E402


@pytest.fixture
def api() -> Iterator[Callable[..., ApiServer]]:
    """api(app, token=None, host="127.0.0.1") -> a started ApiServer; all stopped at the end."""
    started: list[ApiServer] = []

    def start(app, **kwargs) -> ApiServer:
        server = ApiServer(app, **kwargs)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def rest_settings(tmp_path: Path) -> HarvestSettings:
    return load_settings(
        {
            "data_dir": str(tmp_path),
            "harvest": {"backoff": 0.01, "max_retries": 2, "timeout": 10, "overlap_seconds": 300},
        },
        env={},
    ).harvest
