"""Fixtures: small tantivy indexes and an index of the synthetic corpus."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from catalogue.model import Record
from catalogue.search.documents import to_document
from catalogue.search.embedded import TantivyIndex

from .synthetic import CORPUS_SIZE, small_index, synthetic_record


@pytest.fixture
def open_index(tmp_path: Path) -> Iterator[Callable[..., TantivyIndex]]:
    """Opens small indexes under tmp_path/index and closes them after the test."""
    opened: list[TantivyIndex] = []

    def _open(*, writer: bool = True, path: Path | None = None) -> TantivyIndex:
        index = small_index(path or tmp_path / "index", writer=writer)
        opened.append(index)
        return index

    yield _open
    for index in reversed(opened):
        index.close()


@pytest.fixture(scope="module")
def corpus() -> list[Record]:
    return [synthetic_record(i) for i in range(CORPUS_SIZE)]


@pytest.fixture(scope="module")
def corpus_docs(corpus: list[Record]) -> list[dict[str, Any]]:
    return [to_document(r) for r in corpus]


@pytest.fixture(scope="module")
def corpus_index(
    tmp_path_factory: pytest.TempPathFactory, corpus_docs: list[dict[str, Any]]
) -> Iterator[TantivyIndex]:
    """A read-only index of the corpus (written once, then opened as a reader)."""
    path = tmp_path_factory.mktemp("corpus-index")
    writer = small_index(path)
    writer.upsert(corpus_docs[:150])
    writer.commit(1)
    writer.upsert(corpus_docs[150:])  # two segments, as in real life
    writer.commit(2)
    writer.close()
    reader = small_index(path, writer=False)
    yield reader
    reader.close()
