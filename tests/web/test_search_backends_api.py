"""GET /api/records over each search backend: deep paging past max_result_window with the
cursor in links.next, and 503 + Retry-After (never 500) when the engine cannot answer."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from live_server import serve_in_thread

from catalogue.config import load_settings
from catalogue.search.indexer import Indexer, open_index
from catalogue.store import Store
from catalogue.web.app import create_app
from tests.search.cluster_support import drop_alias, unique_alias
from tests.search.synthetic import fill_store

BACKENDS = ["embedded", "opensearch"]


@pytest.fixture(params=BACKENDS)
def app_url(request: pytest.FixtureRequest, store: Store, tmp_path: Path) -> Iterator[str]:
    search_url = ""
    if request.param != "embedded":
        real = os.environ.get("CATALOGUE_TEST_SEARCH_URL")
        osmem = "" if real else request.getfixturevalue("osmem_url")
        search_url = real or f"opensearch+{osmem}"
    settings = load_settings(
        {
            "data_dir": str(tmp_path),
            "index_dir": str(tmp_path / "index"),
            "database_url": store.engine.url.render_as_string(hide_password=False),
            "search_url": search_url,
            "search": {"max_result_window": 12, "index_alias": unique_alias()},
        }
    )
    fill_store(store, 40)
    writer = open_index(settings, writer=True)
    Indexer(store, writer).catch_up()
    app = create_app(settings, store=store)
    try:
        yield from serve_in_thread(app)
    finally:
        if search_url:
            drop_alias(writer)
        writer.close()


def test_links_next_pages_past_the_window_with_a_cursor(app_url: str) -> None:
    url = f"{app_url}/api/records?sort=title&size=5"
    seen: list[str] = []
    pages = 0
    while url and pages < 20:
        body = requests.get(url, timeout=10).json()
        seen += [hit["id"] for hit in body["hits"]]
        url = body["links"].get("next")
        pages += 1
        if pages == 3:
            assert "cursor=" in url  # page 3 * 5 > 12: the cursor takes over
    assert len(seen) == len(set(seen)) == body["total"] == 40


def test_page_numbers_stop_at_the_window(app_url: str) -> None:
    deep = requests.get(f"{app_url}/api/records", params={"page": 4, "size": 5}, timeout=10)
    assert deep.status_code == 400
    assert "links.next" in deep.json()["errors"][0]["message"]


@pytest.mark.parametrize("cursor", ["garbage", "eyJzb3J0IjoidGl0bGUifQ.forged"])
def test_forged_cursors_are_refused(app_url: str, cursor: str) -> None:
    bad = requests.get(f"{app_url}/api/records", params={"cursor": cursor}, timeout=10)
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "cursor"


def test_a_cursor_of_another_sort_is_refused(app_url: str) -> None:
    first = requests.get(f"{app_url}/api/records?sort=title&size=5&page=2", timeout=10).json()
    nxt = requests.get(first["links"]["next"], timeout=10).json()
    cursor = nxt["links"]["next"].split("cursor=")[1]
    other = requests.get(f"{app_url}/api/records?sort=newest&cursor={cursor}", timeout=10)
    assert other.status_code == 400


@pytest.mark.parametrize("scheme", ["opensearch", "elasticsearch"])
def test_unreachable_engine_is_503_with_retry_after(
    store: Store, tmp_path: Path, scheme: str
) -> None:
    settings = load_settings(
        {
            "data_dir": str(tmp_path),
            "database_url": store.engine.url.render_as_string(hide_password=False),
            "search_url": f"{scheme}+http://user:secret@127.0.0.1:9",
            "search": {"timeout": 1.0},
        }
    )
    app = create_app(settings, store=store)
    for url in serve_in_thread(app):
        response = requests.get(f"{url}/api/records", params={"q": "ocean"}, timeout=30)
        assert response.status_code == 503
        assert int(response.headers["Retry-After"]) > 0
        assert response.json()["status"] == 503
        assert "secret" not in response.text


def test_the_home_page_says_search_is_away_and_lists_the_sources(
    store: Store, tmp_path: Path
) -> None:
    """It said "0 records from 0 sources" and "No records yet" while the engine was down."""
    store.add_source("zenodo", "oai", "http://127.0.0.1:9/oai")
    settings = load_settings(
        {
            "data_dir": str(tmp_path),
            "database_url": store.engine.url.render_as_string(hide_password=False),
            "search_url": "opensearch+http://127.0.0.1:9",
            "search": {"timeout": 1.0},
        }
    )
    app = create_app(settings, store=store)
    for url in serve_in_thread(app):
        home = requests.get(url + "/", timeout=30)
        assert home.status_code == 200
        assert "Search is unavailable right now" in home.text
        assert "No records yet" not in home.text and "0 records from 0 sources" not in home.text
        assert ">zenodo</a>" in home.text


def test_hits_carry_highlights(app_url: str) -> None:
    body = requests.get(
        f"{app_url}/api/records", params={"q": "glacier", "size": 5}, timeout=10
    ).json()
    assert body["hits"]
    for hit in body["hits"]:
        assert "<mark>Glacier</mark>" in hit["highlight"]["title"][0]
    plain = requests.get(f"{app_url}/api/records", params={"size": 3}, timeout=10).json()
    assert all("highlight" not in hit for hit in plain["hits"])


def test_facets_false_skips_the_counts_and_stays_in_the_links(app_url: str) -> None:
    url = f"{app_url}/api/records?facets=false&size=5&sort=title"
    body = requests.get(url, timeout=10).json()
    assert body["aggregations"] == {} and len(body["hits"]) == 5
    assert "facets=false" in body["links"]["next"]
    bad = requests.get(f"{app_url}/api/records?facets=maybe", timeout=10)
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "facets"
