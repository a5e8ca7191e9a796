"""Shared fixtures: a migrated store on SQLite and on PostgreSQL.

PostgreSQL tests use a throw-away schema per test, so test runs never see each other's
rows (CI and developers may share the one `test` database).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from catalogue.store import Store, create_store_engine

FIXTURES = Path(__file__).resolve().parent / "fixtures"
PG_URL = os.environ.get(
    "CATALOGUE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database URL for an empty database; parametrised over both backends."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'catalogue.sqlite3'}"
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    st = Store(create_store_engine(db_url))
    st.migrate()
    yield st
    st.dispose()
