"""Bearer tokens: 401 without or with a bad token, 403 for the wrong role, revocation, CLI."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from ingest_support import metadata

from catalogue.cli import main
from catalogue.store import token_hash


def test_no_token_401_with_challenge(ingest_app) -> None:
    r = ingest_app.post({"metadata": metadata()}, token=None)
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    assert r.json()["status"] == 401
    assert ingest_app.local_count() == 0


@pytest.mark.parametrize(
    "header", ["Bearer nope", "Basic dXNlcjpwdw==", "Bearer", "Bearer " + "x" * 500, "Bearer é"]
)
def test_invalid_token_401(ingest_app, header) -> None:
    r = ingest_app.call(
        "POST",
        "/api/records",
        token=None,
        json={"metadata": metadata()},
        headers={"Authorization": header},
    )
    assert r.status_code == 401
    assert 'error="invalid_token"' in r.headers["WWW-Authenticate"]


def test_reader_token_403(ingest_app) -> None:
    r = ingest_app.post({"metadata": metadata()}, token=ingest_app.reader)
    assert r.status_code == 403
    assert "reader" in r.json()["message"]
    r = ingest_app.post(
        {"id": "s", "type": "json", "content": {}}, path="/api/schemas", token=ingest_app.reader
    )
    assert r.status_code == 403


def test_auth_is_checked_before_the_body(ingest_app) -> None:
    r = ingest_app.call(
        "POST", "/api/records", token=None, data=b"\xff", headers={"Content-Type": "text/plain"}
    )
    assert r.status_code == 401


def test_revoked_token_stops_working(ingest_app) -> None:
    token, secret = ingest_app.store.create_token("temp", "depositor")
    assert ingest_app.post({"metadata": metadata("a")}, token=secret).status_code == 201
    ingest_app.store.revoke_token(token.id)
    assert ingest_app.post({"metadata": metadata("b")}, token=secret).status_code == 401


def test_tokens_are_stored_hashed_and_use_is_recorded(ingest_app) -> None:
    tokens = {t.name: t for t in ingest_app.store.list_tokens()}
    assert ingest_app.store.find_token(ingest_app.depositor).id == tokens["depositor-1"].id
    assert tokens["depositor-1"].last_used_at is None
    ingest_app.create(metadata())
    used = {t.name: t for t in ingest_app.store.list_tokens()}["depositor-1"]
    assert used.last_used_at is not None
    from sqlalchemy import text

    with ingest_app.store.engine.connect() as conn:
        stored = set(conn.execute(text("SELECT token_hash FROM api_tokens")).scalars())
    assert ingest_app.depositor not in stored
    assert token_hash(ingest_app.depositor) in stored


def test_reads_need_no_token(ingest_app) -> None:
    rid = ingest_app.create(metadata()).json()["id"]
    assert ingest_app.get(f"/api/records/{rid}").status_code == 200
    assert ingest_app.get("/api/schemas").status_code == 200


def test_cli_tokens_create_prints_the_token_alone_list_and_revoke(db_url, tmp_path) -> None:
    from catalogue.store import Store

    env = {"CATALOGUE_DATABASE_URL": db_url, "CATALOGUE_DATA_DIR": str(tmp_path)}
    runner = CliRunner()
    result = runner.invoke(
        main, ["tokens", "create", "--role", "depositor", "--name", "repo-a"], env=env
    )
    assert result.exit_code == 0, result.output
    secret = result.stdout.strip()
    assert "\n" not in secret and secret.startswith("cat_")
    store = Store(db_url)
    try:
        token = store.find_token(secret)
        assert token is not None and token.role == "depositor" and token.name == "repo-a"
        listed = runner.invoke(main, ["tokens", "list"], env=env)
        assert listed.exit_code == 0 and "repo-a" in listed.stdout and secret not in listed.stdout
        revoked = runner.invoke(main, ["tokens", "revoke", str(token.id)], env=env)
        assert revoked.exit_code == 0
        assert store.find_token(secret) is None
        assert runner.invoke(main, ["tokens", "revoke", "999"], env=env).exit_code != 0
        bad_role = runner.invoke(main, ["tokens", "create", "--role", "king"], env=env)
        assert bad_role.exit_code != 0
    finally:
        store.dispose()
