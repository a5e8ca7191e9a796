"""The store's connection pool on PostgreSQL: a pooled connection the server ended (a
restart, pg_terminate_backend) is replaced at checkout, never handed out to fail."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import create_engine, text

from catalogue.store import Store, create_store_engine
from catalogue.store.engine import _socket_readable


@pytest.fixture
def pg_store(db_url: str) -> Store:
    if not db_url.startswith("postgresql"):
        pytest.skip("the pool check is PostgreSQL's")
    st = Store(create_store_engine(db_url))
    st.migrate()
    yield st
    st.dispose()


def _backend_pids(store: Store) -> set[int]:
    """The backends of every connection the pool holds (checked out together)."""
    conns = [store.engine.connect() for _ in range(3)]
    try:
        return {conn.execute(text("SELECT pg_backend_pid()")).scalar_one() for conn in conns}
    finally:
        for conn in conns:
            conn.close()


def test_a_connection_the_server_ended_is_replaced(pg_store: Store) -> None:
    pids = _backend_pids(pg_store)
    assert pg_store.find_token("cat_nothing") is None
    admin = create_engine(str(pg_store.engine.url.set(query={})))
    with admin.begin() as conn:
        for pid in pids:
            conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
    admin.dispose()
    time.sleep(0.2)  # the backends' goodbyes reach the pooled sockets
    # every pooled connection is dead: each request still gets a working one
    for _ in range(4):
        assert pg_store.find_token("cat_nothing") is None
        token, secret = pg_store.create_token("after-restart", "depositor")
        assert pg_store.find_token(secret).id == token.id
    assert not _backend_pids(pg_store) & pids


def test_an_idle_connection_has_nothing_to_read(pg_store: Store) -> None:
    """What lets checkout skip the ping: a healthy idle connection's socket is empty."""
    with pg_store.engine.connect() as conn:
        conn.execute(text("SELECT 1"))
        raw = conn.connection.dbapi_connection
    assert pg_store.find_token("cat_nothing") is None
    assert not _socket_readable(raw.pgconn.socket)
