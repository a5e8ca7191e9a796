"""Fixtures: a live OAI-PMH provider over a real store (SQLite and PostgreSQL) on localhost.

Every response the provider sends while a test runs, whoever asked for it, is validated
(see ``oai_support.validating``); the fixture fails the test on any invalid response.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from oai_support import Corpus, OaiServer, load_corpus, make_server_fixture

from catalogue.store import Store


@pytest.fixture
def oai(store: Store, tmp_path: Path) -> Iterator[OaiServer]:
    """A provider with 7 records per page over an empty store."""
    yield from make_server_fixture(store, tmp_path, page_size=7)


@pytest.fixture
def corpus(oai: OaiServer) -> Corpus:
    return load_corpus(oai.store)
