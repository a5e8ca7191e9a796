"""The OAI-PMH provider in a browser: an HTML page rendered on the server; harvesters keep
getting the XML (issue 14)."""

from __future__ import annotations

from lxml import etree, html
from pages_site import Site

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
OAI = {"o": "http://www.openarchives.org/OAI/2.0/"}


def test_browsers_get_a_readable_page_with_paging(site: Site) -> None:
    r = site.get(
        "/oai",
        params={"verb": "ListRecords", "metadataPrefix": "oai_dc"},
        headers={"Accept": BROWSER},
    )
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html")
    assert "Accept" in r.headers["Vary"]
    doc = html.fromstring(r.content)
    assert doc.xpath("//meta[@name='viewport']")
    rows = doc.xpath("//table//tr[td]")
    assert len(rows) == 10
    record_links = [a for a in doc.xpath("//td/a/@href") if a.startswith("/records/")]
    assert len(record_links) == 10
    assert site.get(record_links[0]).status_code in (200, 410)
    [nxt] = doc.xpath("//a[text()='next page']/@href")
    second = site.get("/oai" + nxt, headers={"Accept": BROWSER})
    assert second.status_code == 200
    assert "Records 11 to 20" in " ".join(html.fromstring(second.content).text_content().split())


def test_errors_render_too(site: Site) -> None:
    r = site.get("/oai", params={"verb": "Nope"}, headers={"Accept": BROWSER})
    assert "badVerb" in html.fromstring(r.content).text_content()


def test_harvesters_keep_getting_xml(site: Site) -> None:
    java = "text/html, image/gif, image/jpeg, *; q=.2, */*; q=.2"  # HttpURLConnection's
    for accept in (None, "*/*", "text/xml", "application/xml", java):
        headers = {"Accept": accept} if accept else {}
        r = site.get("/oai", params={"verb": "Identify"}, headers=headers)
        assert r.headers["Content-Type"].startswith("text/xml"), accept
        root = etree.fromstring(r.content)
        assert root.xpath("//o:Identify/o:repositoryName", namespaces=OAI)
