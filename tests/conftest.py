"""Shared fixtures: a migrated store on SQLite and on PostgreSQL.

PostgreSQL tests use a throw-away schema per test, so test runs never see each other's
rows (CI and developers may share the one `test` database).
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from catalogue.config import load_settings
from catalogue.store import Store, create_store_engine
from harvester.settings import HarvestSettings

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


@pytest.fixture
def cli(tmp_path: Path, db_url: str):
    """Runs the real `catalogue` command in a subprocess on a fresh data dir and store."""
    env = dict(os.environ, CATALOGUE_DATA_DIR=str(tmp_path), CATALOGUE_DATABASE_URL=db_url)
    env.pop("CATALOGUE_CONFIG", None)

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [sys.executable, "-m", "catalogue", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"catalogue {' '.join(args)} failed:\n{proc.stderr}")
        return proc

    run.env = env
    return run


@pytest.fixture
def harvest_with() -> Callable[..., HarvestSettings]:
    """harvest_with(**changes): the default [harvest] settings with ``changes`` applied."""
    defaults = load_settings(env={}).harvest

    def make(**changes: object) -> HarvestSettings:
        return replace(defaults, **changes)

    return make
