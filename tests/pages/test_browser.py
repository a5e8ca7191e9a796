"""The pages in headless Chromium (Debian's, driven by Playwright; `make test` installs it):
what a researcher does, step by step, with screenshots under test-artifacts/pages/ and an
axe-core accessibility check of every page.

Playwright never downloads a browser here: it launches /usr/bin/chromium (or $CHROMIUM).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_support import chromium
from pages_site import Site, start_site
from playwright.sync_api import Browser, Page

from catalogue.store import Store, create_store_engine

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "pages"
AXE = Path(
    os.environ.get("CATALOGUE_TEST_PEERS", ROOT / ".peers"), "npm/node_modules/axe-core/axe.min.js"
)
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    # one SQLite site for the whole module: the pages' reads are the same on PostgreSQL,
    # which the HTTP page tests cover
    tmp = tmp_path_factory.mktemp("browser-site")
    store = Store(create_store_engine(f"sqlite:///{tmp / 'catalogue.sqlite3'}"))
    store.migrate()
    yield from start_site(store, tmp)
    store.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as browser:
        yield browser


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    yield page
    page.close()


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def axe(page: Page) -> list[dict[str, Any]]:
    """axe-core's violations on the page (WCAG 2.1 A/AA rules)."""
    if not AXE.exists():
        pytest.fail(f"axe-core is not installed at {AXE}: run `make peers`")
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "async () => await axe.run(document, "
        "{runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})"
    )
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"][:3]]}
        for v in result["violations"]
    ]


def no_horizontal_scroll(page: Page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_search_facet_chip_paging_record_export(site: Site, page: Page) -> None:
    page.goto(site.url + "/")
    shot(page, "01-home")
    assert axe(page) == []
    page.get_by_label("Search the catalogue").fill("ocean temperature")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url("**/search?q=ocean+temperature*")
    heading = page.locator("#results-heading").inner_text()
    assert "of 31 records" in heading
    shot(page, "02-search")
    assert axe(page) == []

    # click a facet: the results narrow, a chip shows the filter
    page.locator("aside details", has_text="Resource type").get_by_role(
        "link", name="Software"
    ).click()
    page.wait_for_url("**type=Software*")
    assert "of 10 records" in page.locator("#results-heading").inner_text()
    chip = page.get_by_role("link", name="Remove filter Resource type: Software")
    assert chip.is_visible()
    shot(page, "03-facet")

    # remove it again
    chip.click()
    page.wait_for_load_state()
    assert "type=" not in page.url
    assert "of 31 records" in page.locator("#results-heading").inner_text()

    # page on
    page.get_by_role("link", name="Next").click()
    page.wait_for_url("**page=2*")
    assert page.locator("#results-heading").inner_text().startswith("21–31 of 31")
    shot(page, "04-page-2")

    # open a record
    first = page.locator("ol.hits h3 a").first
    title = first.inner_text()
    first.click()
    page.wait_for_url("**/records/*")
    assert page.locator("h1").inner_text() == title
    ld = json.loads(page.locator('script[type="application/ld+json"]').text_content())
    assert ld["name"] == title and ld["@type"] in ("Dataset", "SoftwareSourceCode")
    shot(page, "05-record")
    assert axe(page) == []

    # follow an export link
    with page.expect_response("**/export/json") as answer:
        page.get_by_role("link", name="JSON", exact=True).click()
    assert answer.value.status == 200
    assert json.loads(answer.value.text())["metadata"]["titles"][0]["title"] == title


def test_rich_landing_page(site: Site, page: Page) -> None:
    page.goto(f"{site.url}/records/{site.rid('zenodo', 'rich')}")
    assert page.get_by_role("link", name="ORCID of Müller, Anna").is_visible()
    citation = page.locator("#citation").inner_text()
    assert citation.startswith("Müller, A.; Polar Consortium (2021)")
    # the copy button appears with JavaScript (and only then)
    assert page.get_by_role("button", name="Copy citation").is_visible()
    shot(page, "06-record-rich")
    assert axe(page) == []


def test_bad_query_page_is_400(site: Site, page: Page) -> None:
    response = page.goto(site.url + '/search?q="unclosed')
    assert response is not None and response.status == 400
    assert "quotation mark" in page.get_by_role("alert").inner_text()
    assert page.get_by_label("Search the catalogue").input_value() == '"unclosed'
    shot(page, "07-bad-query")
    assert axe(page) == []


def test_tombstone_page_is_410(site: Site, page: Page) -> None:
    response = page.goto(f"{site.url}/records/{site.rid('pangaea', 'gone')}")
    assert response is not None and response.status == 410
    assert "Withdrawn glacier survey" in page.locator("main").inner_text()
    shot(page, "08-tombstone")
    assert axe(page) == []
    response = page.goto(site.url + "/records/nosuchrecord")
    assert response is not None and response.status == 404
    shot(page, "09-not-found")
    assert axe(page) == []


def test_phone_width(site: Site, browser: Browser) -> None:
    page = browser.new_page(viewport=PHONE)
    try:
        for name, path in [
            ("10-phone-home", "/"),
            ("11-phone-search", "/search?q=ocean&type=Dataset"),
            ("12-phone-record", f"/records/{site.rid('zenodo', 'rich')}"),
            ("13-phone-oai", "/oai?verb=ListRecords&metadataPrefix=oai_dc"),
        ]:
            page.goto(site.url + path)
            assert no_horizontal_scroll(page), path
            shot(page, name)
        # the filters are one tap away from the results
        page.goto(site.url + "/search?q=ocean")
        page.get_by_role("link", name="Filters").click()
        assert page.locator("#filters-heading").is_visible()
        assert axe(page) == []
    finally:
        page.close()


def test_keyboard_skip_link_and_no_javascript(site: Site, browser: Browser, page: Page) -> None:
    page.goto(site.url + "/search?q=ocean")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent")
    assert focused == "Skip to content"
    page.keyboard.press("Enter")
    assert page.url.endswith("#main")
    # everything works without JavaScript: search, facet, record
    context = browser.new_context(java_script_enabled=False)
    nojs = context.new_page()
    try:
        nojs.goto(site.url + "/search?q=ocean")
        nojs.locator("aside details", has_text="Year").get_by_role("link").first.click()
        nojs.wait_for_url("**year=*")
        assert nojs.locator("ol.hits li").count() > 0
    finally:
        context.close()
