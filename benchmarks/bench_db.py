"""The database a benchmark writes into: SQLite in its temporary directory (the default),
or a throw-away schema of a PostgreSQL database given by ``--database-url``.

    --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def bench_database(url: str | None) -> Iterator[str | None]:
    """``url`` narrowed to a fresh schema (dropped afterwards) for PostgreSQL; None keeps
    the settings' default (SQLite under the data directory)."""
    if not url or not url.startswith("postgresql"):
        yield url
        return
    from sqlalchemy import create_engine, text

    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in url else "?"
    try:
        yield f"{url}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def backend_name(url: str | None) -> str:
    return "postgresql" if url and url.startswith("postgresql") else "sqlite"
