"""The search page pages past ``max_result_window`` as the API does: "Next" carries the
signed cursor of the API's ``links.next`` (issue 14)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from lxml import html
from pages_site import Site, start_site

from catalogue.store import Store

WINDOW = 10
SIZE = 5


@pytest.fixture
def site(store: Store, tmp_path: Path) -> Iterator[Site]:
    yield from start_site(store, tmp_path, search={"max_result_window": WINDOW})


def pager(doc: html.HtmlElement, rel: str) -> list[str]:
    return doc.xpath(f"//nav[@aria-label='Pages']//a[@rel='{rel}']/@href")


def test_next_links_go_past_the_window_to_every_hit_in_the_apis_order(site: Site) -> None:
    params = {"q": "ocean", "sort": "title", "size": SIZE}
    api_ids, url = [], "/api/records"
    body = site.get(url, params=params).json()
    while True:
        api_ids += [hit["id"] for hit in body["hits"]]
        if "next" not in body["links"]:
            break
        body = site.get(urlsplit(body["links"]["next"])._replace(scheme="", netloc="").geturl())
        body = body.json()
    assert len(api_ids) == body["total"] > 2 * WINDOW  # the walk goes well past the window

    page_ids: list[str] = []
    doc = html.fromstring(site.get("/search", params=params).content)
    number = 1
    while True:
        shown = [h.removeprefix("/records/") for h in doc.xpath("//ol[@class='hits']//h3/a/@href")]
        page_ids += shown
        assert doc.xpath("//a[@aria-current='page']/text()") == [str(number)]
        assert doc.xpath("//ol[@class='hits']/@start") == [str((number - 1) * SIZE + 1)]
        [api_link] = doc.xpath("//p[@class='api-link']/a/@href")
        assert [h["id"] for h in site.get(api_link).json()["hits"]] == shown
        nxt = pager(doc, "next")
        if not nxt:
            break
        query = parse_qs(urlsplit(nxt[0]).query)
        assert query["page"] == [str(number + 1)] and query["q"] == ["ocean"]
        # numbered links within the window, a cursor from its last page on
        assert ("cursor" in query) == (number * SIZE >= WINDOW)
        r = site.get(nxt[0])
        assert r.status_code == 200
        doc, number = html.fromstring(r.content), number + 1
    assert page_ids == api_ids
    # back by number only while that page is in the window
    assert pager(doc, "prev") == []


def test_a_page_past_the_window_links_back_into_it_and_drops_the_cursor_on_changes(
    site: Site,
) -> None:
    doc = html.fromstring(site.get("/search", params={"size": SIZE, "page": 2}).content)
    [nxt] = pager(doc, "next")
    third = html.fromstring(site.get(nxt).content)
    [prev] = pager(third, "prev")
    assert parse_qs(urlsplit(prev).query)["page"] == ["2"] and "cursor" not in prev
    # filters and sorting start the search again from page 1, without the cursor
    facet_links = third.xpath("//aside//a/@href")
    assert facet_links and not any("cursor" in h or "page=" in h for h in facet_links)
    assert not third.xpath("//form//input[@name='cursor' or @name='page']")
