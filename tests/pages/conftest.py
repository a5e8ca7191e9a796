"""Fixtures of the page tests (the site itself is in pages_site.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pages_site import Site, start_site

from catalogue.store import Store


@pytest.fixture
def site(store: Store, tmp_path: Path) -> Iterator[Site]:
    yield from start_site(store, tmp_path)
