"""The admin pages in headless Chromium (Debian's, driven by Playwright, never a
downloaded browser): sign in, add a source with the probe, harvest now, watch the run
finish and read its errors, pause the source, find its records still searchable.
Screenshots of each page go to test-artifacts/admin/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_support import chromium
from playwright.sync_api import Page, expect

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "admin"


@pytest.fixture
def page() -> Iterator[Page]:
    with chromium() as browser:
        yield browser.new_page(viewport={"width": 1280, "height": 900})


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_admin_runs_a_source_from_the_browser(admin_app, oai_server, page: Page) -> None:
    page.goto(f"{admin_app.url}/admin/")
    expect(page.get_by_label("Admin token")).to_be_visible()
    shot(page, "01-sign-in")
    page.get_by_label("Admin token").fill(admin_app.admin)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Harvest sources")).to_be_visible()
    cookie = next(c for c in page.context.cookies() if c["name"] == "session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"

    page.get_by_role("link", name="Add a source").click()
    page.get_by_label("Key").fill("lakes")
    page.get_by_label("URL").fill(f"{oai_server.base_url}/oai")
    page.get_by_label("Schedule").fill("0 3 * * *")
    page.get_by_role("button", name="Check the source").click()
    expect(page.get_by_text("Admin test repository")).to_be_visible()
    shot(page, "02-add-source-probed")
    page.get_by_role("button", name="Add source").click()
    expect(page.get_by_role("heading", name="Source lakes")).to_be_visible()

    page.get_by_label("Harvest now").select_option("full")
    page.get_by_role("button", name="Harvest now").click()
    expect(page.locator('[data-field="status"]')).to_have_text("succeeded", timeout=30_000)
    expect(page.get_by_text("oai:adm:bad0")).to_be_visible()
    shot(page, "03-run-finished-with-errors")

    page.get_by_role("link", name="lakes").first.click()
    page.get_by_role("button", name="Pause").click()
    expect(page.get_by_text("paused").first).to_be_visible()
    shot(page, "04-source-paused")

    page.get_by_role("link", name="Mapping quality").click()
    expect(page.locator("svg.chart")).to_be_visible()
    shot(page, "05-mapping-quality")

    page.get_by_role("link", name="Sources").first.click()
    shot(page, "06-sources")

    admin_app.indexer.catch_up()
    page.goto(f"{admin_app.url}/search?source=lakes")
    expect(page.get_by_text("Lake 3").first).to_be_visible()
    shot(page, "07-records-still-searchable")

    page.goto(f"{admin_app.url}/admin/sources/lakes/delete")
    expect(page.get_by_text("6 records will become deleted")).to_be_visible()
    shot(page, "08-delete-confirmation")
