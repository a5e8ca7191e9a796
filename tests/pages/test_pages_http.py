"""The researcher pages over HTTP: search, facets, errors, landing pages, negotiation,
sitemap, robots.txt, health, CORS and gzip (issue 14)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from lxml import etree, html
from pages_site import HOSTILE_TITLE, Site

from catalogue.search.query import identifier_key

SITEMAP_NS = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
SITEMAP_XSD = etree.XMLSchema(etree.parse(str(Path(__file__).parents[1] / "xsd" / "sitemap.xsd")))


def valid_sitemap(content: bytes) -> etree._Element:
    root = etree.fromstring(content)
    SITEMAP_XSD.assertValid(root)
    return root


def page(response) -> html.HtmlElement:
    assert response.headers["Content-Type"].startswith("text/html")
    return html.fromstring(response.content)


def json_ld(doc: html.HtmlElement) -> dict:
    [script] = doc.xpath('//script[@type="application/ld+json"]')
    return json.loads(script.text)


def test_home_has_search_box_facets_newest_and_sources(site: Site) -> None:
    r = site.get("/")
    assert r.status_code == 200
    doc = page(r)
    assert doc.xpath('//form[@role="search"]//input[@name="q"]/@id') == ["q"]
    assert doc.xpath('//label[@for="q"]')
    assert doc.xpath("//main") and doc.xpath("//header") and doc.xpath("//footer")
    assert any("/records/" in h for h in doc.xpath("//section//ol//a/@href"))
    assert "type=Dataset" in " ".join(doc.xpath("//a/@href"))
    assert {"zenodo", "pangaea"} <= set(doc.xpath("//table//td/a/text()"))


def test_search_page_matches_the_api(site: Site) -> None:
    params = {"q": "ocean temperature", "type": "dataset", "sort": "title"}
    api = site.get("/api/records", params=params).json()
    doc = page(site.get("/search", params=params))
    links = doc.xpath('//ol[@class="hits"]//h3/a/@href')
    assert links == [f"/records/{h['id']}" for h in api["hits"]]
    assert f"of {api['total']} records" in doc.xpath("string(//h2[@id='results-heading'])")
    # matched words are highlighted, the chip for the active filter removes it
    assert doc.xpath("//ol[@class='hits']//mark")
    [chip] = doc.xpath("//ul[@class='chips']/li/a[starts-with(@aria-label, 'Remove')]/@href")
    assert "type" not in parse_qs(urlsplit(chip).query)
    assert parse_qs(urlsplit(chip).query)["q"] == ["ocean temperature"]


def test_facet_links_add_and_remove_values_and_reset_paging(site: Site) -> None:
    doc = page(site.get("/search", params={"page": 2, "size": 5}))
    href = doc.xpath("//aside//details[.//h3='Resource type']//a/@href")[0]
    query = parse_qs(urlsplit(href).query)
    assert query["type"] and "page" not in query and query["size"] == ["5"]
    selected = page(site.get(href))
    [current] = selected.xpath("//aside//a[@aria-current='true']/@href")
    assert "type" not in parse_qs(urlsplit(current).query)


def test_paging_links(site: Site) -> None:
    doc = page(site.get("/search", params={"size": 10}))
    [nxt] = doc.xpath("//nav[@aria-label='Pages']//a[@rel='next']/@href")
    assert parse_qs(urlsplit(nxt).query)["page"] == ["2"]
    second = page(site.get(nxt))
    assert second.xpath("//nav[@aria-label='Pages']//a[@aria-current='page']/text()") == ["2"]
    assert second.xpath("//ol[@class='hits']/@start") == ["11"]


@pytest.mark.parametrize(
    "params,text",
    [
        ({"q": '"unclosed'}, "quotation mark"),
        ({"q": "nosuchfield:x"}, "no field"),
        ({"page": "0"}, "page"),
        ({"colour": "red"}, "unknown parameter"),
        ({"year": "abc"}, "years are integers"),
        ({"q": "x" * 1001}, "longer than"),
        ({"q": "a\x00b"}, "NUL"),
        ({"size": "100000"}, "size"),
        ({"page": "9999999"}, "page"),
        ({"q": ["a", "b"]}, "more than once"),
        ({"subject": ["s"] * 21}, "at most"),
    ],
)
def test_bad_search_is_a_400_page_with_a_message(site: Site, params, text) -> None:
    r = site.get("/search", params=params)
    assert r.status_code == 400
    doc = page(r)
    assert text in doc.xpath("string(//div[@role='alert'])")
    assert doc.xpath("//form[@role='search']")


def test_no_results_suggests_dropping_filters(site: Site) -> None:
    doc = page(site.get("/search", params={"q": "ocean", "year": "1999"}))
    assert "No records found" in doc.xpath("string(//h2[@id='results-heading'])")
    [suggestion] = doc.xpath("//div[@class='empty']//a/@href")
    assert "year" not in parse_qs(urlsplit(suggestion).query)


def _form_fields(doc: html.HtmlElement) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    for field in doc.xpath("//form[@role='search']//input[@type='hidden']"):
        fields.setdefault(field.get("name"), []).append(field.get("value"))
    return fields


def test_a_query_typed_over_a_listing_is_ranked_by_relevance(site: Site) -> None:
    # the listing's sort (newest first, or one chosen while browsing) is not carried over
    for params in ({}, {"sort": "title"}, {"type": "Dataset"}):
        doc = page(site.get("/search", params=params))
        assert "sort" not in _form_fields(doc), params
    # refining a query keeps the sort chosen for it
    doc = page(site.get("/search", params={"q": "ocean", "sort": "title", "type": "Dataset"}))
    assert _form_fields(doc) == {"type": ["Dataset"], "sort": ["title"]}


def test_a_400_page_keeps_the_filters_sort_and_size_that_were_fine(site: Site) -> None:
    params = {"q": '"unclosed', "type": "Dataset", "sort": "title", "size": "5", "year": "x"}
    doc = page(site.get("/search", params=params))
    assert _form_fields(doc) == {"type": ["Dataset"], "size": ["5"], "sort": ["title"]}


@pytest.mark.parametrize(
    "q,offered",
    [
        ("ocean xyzzy plugh", True),  # all but one of three words must match
        ("ocean AND xyzzy", False),
        ('"sea ice" xyzzy plugh', False),
        ("year:[2000 TO 2001] xyzzy", False),
    ],
)
def test_any_of_the_words_is_offered_only_for_plain_words(site: Site, q, offered) -> None:
    doc = page(site.get("/search", params={"q": q}))
    links = doc.xpath("//div[@class='empty']//a[contains(., 'any of the words')]/@href")
    assert bool(links) is offered
    if offered:
        assert site.get(links[0]).status_code == 200


def test_a_pasted_title_with_a_colon_finds_its_record(site: Site) -> None:
    r = site.get("/search", params={"q": "Arctic sea ice thickness: from CryoSat-2"})
    assert r.status_code == 200
    assert page(r).xpath("//ol[@class='hits']//h3/a/@href")[0] == (
        f"/records/{site.rid('zenodo', 'rich')}"
    )


def test_pasted_doi_in_the_search_box(site: Site) -> None:
    doc = page(site.get("/search", params={"q": "https://doi.org/10.5281/zenodo.8406062"}))
    assert doc.xpath("//ol[@class='hits']//h3/a/@href") == [
        f"/records/{site.rid('zenodo', 'rich')}"
    ]


def test_landing_page_content_json_ld_meta_and_signposting(site: Site) -> None:
    rid = site.rid("zenodo", "rich")
    r = site.get(f"/records/{rid}")
    assert r.status_code == 200
    doc = page(r)
    assert doc.xpath("string(//h1)") == "Arctic sea ice thickness from CryoSat-2"
    hrefs = doc.xpath("//a/@href")
    assert "https://orcid.org/0000-0002-1825-0097" in hrefs
    assert "https://doi.org/10.5281/zenodo.8406062" in hrefs
    assert "https://doi.org/10.1000/paper.1" in hrefs
    assert "https://creativecommons.org/licenses/by/4.0/" in hrefs
    text = doc.text_content()
    for shown in ("Alfred Wegener Institute", "European Commission", "Arctic Ocean", "CC-BY-4.0"):
        assert shown in text
    citation = doc.xpath("string(//p[@id='citation'])")
    assert citation.startswith("Müller, A.; Polar Consortium (2021): Arctic sea ice")
    assert citation.endswith("https://doi.org/10.5281/zenodo.8406062")
    meta = {m.get("name"): m.get("content") for m in doc.xpath("//meta[@name]")}
    assert meta["citation_title"] == "Arctic sea ice thickness from CryoSat-2"
    assert meta["citation_doi"] == "10.5281/zenodo.8406062"
    assert meta["citation_publication_date"] == "2021"
    alternates = dict(
        doc.xpath("//link[@rel='alternate']/@type")
        and [(el.get("type"), el.get("href")) for el in doc.xpath("//link[@rel='alternate']")]
    )
    assert {
        "application/json",
        "application/vnd.datacite.datacite+xml",
        "application/ld+json",
        "application/x-bibtex",
    } <= set(alternates)
    ld = json_ld(doc)
    assert ld["@type"] == "Dataset"
    assert ld["name"] == "Arctic sea ice thickness from CryoSat-2"
    assert ld["url"] == r.url
    assert ld["identifier"] == ["https://doi.org/10.5281/zenodo.8406062"]
    assert ld["creator"][0]["name"] == "Müller, Anna"
    assert ld["license"] == ["https://creativecommons.org/licenses/by/4.0/"]
    assert ld["datePublished"] == "2021" and ld["publisher"]["name"] == "Zenodo"
    assert "Sea ice" in ld["keywords"] and len(ld["description"]) >= 50
    assert ld["spatialCoverage"][0]["geo"]["latitude"] == 85.0
    links = r.headers["Link"]
    assert '<https://doi.org/10.5281/zenodo.8406062>; rel="cite-as"' in links
    assert 'rel="describedby"; type="application/vnd.datacite.datacite+xml"' in links
    assert '<https://creativecommons.org/licenses/by/4.0/>; rel="license"' in links
    assert '<https://schema.org/Dataset>; rel="type"' in links
    assert '<https://orcid.org/0000-0002-1825-0097>; rel="author"' in links


def test_every_landing_page_has_valid_json_ld(site: Site) -> None:
    for record in site.store.iter_records():
        r = site.get(f"/records/{record.id}")
        assert r.status_code == 200
        ld = json_ld(page(r))
        assert ld["@context"] == "https://schema.org"
        assert ld["@type"] in {"Dataset", "SoftwareSourceCode", "ScholarlyArticle"}
        for key in ("name", "description", "url", "creator", "publisher", "datePublished"):
            assert ld[key], key


def test_hostile_metadata_cannot_break_out_of_the_page(site: Site) -> None:
    r = site.get(f"/records/{site.rid('pangaea', 'hostile')}")
    assert '<script>alert("x")' not in r.text and "<b>bold</b>" not in r.text
    doc = page(r)
    assert json_ld(doc)["name"] == HOSTILE_TITLE
    assert doc.xpath("string(//h1)") == HOSTILE_TITLE
    assert len(doc.xpath("//script")) == 2  # the JSON-LD and pages.js


def test_tombstone_is_410_and_unknown_is_404(site: Site) -> None:
    r = site.get(f"/records/{site.rid('pangaea', 'gone')}")
    assert r.status_code == 410
    doc = page(r)
    assert "Withdrawn glacier survey" in doc.text_content()
    assert doc.xpath("//time/@datetime")
    r = site.get("/records/nosuchrecord")
    assert r.status_code == 404 and "nosuchrecord" in page(r).text_content()
    # asked for data, they answer as the API does
    r = site.get(f"/records/{site.rid('pangaea', 'gone')}", headers={"Accept": "application/json"})
    assert r.status_code == 410 and r.json()["status"] == 410
    # export links of a browser get pages; other clients the API's JSON errors
    browser = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    for rid, status in ((site.rid("pangaea", "gone"), 410), ("nosuchrecord", 404)):
        r = site.get(f"/records/{rid}/export/bibtex", headers=browser)
        assert r.status_code == status and rid in page(r).text_content()
        r = site.get(f"/records/{rid}/export/bibtex", headers={"Accept": "*/*"})
        assert r.status_code == status and r.json()["status"] == status


def test_api_redirects_browsers_to_the_landing_page(site: Site) -> None:
    rid = site.rid("zenodo", "rich")
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    r = site.get(f"/api/records/{rid}", headers={"Accept": browser}, allow_redirects=False)
    assert r.status_code == 303 and r.headers["Location"].endswith(f"/records/{rid}")
    assert site.get(f"/api/records/{rid}").headers["Content-Type"] == "application/json"
    r = site.get(f"/api/records/{rid}", headers={"Accept": "*/*"})
    assert r.headers["Content-Type"] == "application/json"


@pytest.mark.parametrize(
    "accept,check",
    [
        ("application/json", lambda r: r.json()["metadata"]["publicationYear"] == 2021),
        ("application/vnd.datacite.datacite+xml", lambda r: b"<resource" in r.content),
        ("application/xml", lambda r: b"kernel-4" in r.content),
        ("application/ld+json", lambda r: r.json()["@type"] == "Dataset"),
        ("application/x-bibtex", lambda r: r.text.startswith("@misc{")),
        ("application/x-research-info-systems", lambda r: r.text.startswith("TY  - DATA")),
        ("application/vnd.citationstyles.csl+json", lambda r: r.json()["type"] == "dataset"),
        ("text/x-bibliography", lambda r: r.text.startswith("Müller, A.")),
    ],
)
def test_landing_page_and_api_negotiate_the_same(site: Site, accept, check) -> None:
    rid = site.rid("zenodo", "rich")
    page_r = site.get(f"/records/{rid}", headers={"Accept": accept})
    api_r = site.get(f"/api/records/{rid}", headers={"Accept": accept})
    assert page_r.status_code == api_r.status_code == 200
    assert page_r.headers["Content-Type"].split(";")[0] in (
        accept,
        "application/vnd.datacite.datacite+xml",
    )
    assert page_r.content == api_r.content and page_r.headers["ETag"] == api_r.headers["ETag"]
    assert check(page_r)


def test_export_links_all_work(site: Site) -> None:
    rid = site.rid("zenodo", "rich")
    doc = page(site.get(f"/records/{rid}"))
    exports = doc.xpath("//p[@class='exports']/a")
    assert len(exports) == 8
    for link in exports:
        r = site.get(link.get("href"))
        assert r.status_code == 200, link.get("href")
        assert r.headers["Content-Type"].split(";")[0] == link.get("type")
    assert site.get(f"/records/{rid}/export/pdf").status_code == 404
    bib = site.get(f"/records/{rid}/export/bibtex").text
    assert "doi = {10.5281/zenodo.8406062}" in bib and "author = {Müller, Anna and {Polar" in bib
    ris = site.get(f"/records/{rid}/export/ris").text
    assert "DO  - 10.5281/zenodo.8406062\r\n" in ris and ris.endswith("ER  - \r\n")


def test_sitemap_lists_exactly_the_live_records(site: Site) -> None:
    live = {r.id for r in site.store.iter_records()}
    r = site.get("/sitemap.xml")
    assert r.headers["Content-Type"].startswith("application/xml")
    root = valid_sitemap(r.content)
    locs = root.xpath("//s:url/s:loc/text()", namespaces=SITEMAP_NS)
    assert len(locs) == len(set(locs)) == len(live)
    assert {loc.rsplit("/", 1)[1] for loc in locs} == live
    assert all(loc.startswith(site.url + "/records/") for loc in locs)
    assert len(root.xpath("//s:lastmod", namespaces=SITEMAP_NS)) == len(live)
    robots = site.get("/robots.txt").text
    assert f"Sitemap: {site.url}/sitemap.xml" in robots.splitlines()


def test_sitemap_index_past_the_limit(site: Site) -> None:
    site.app.config["SITEMAP_MAX_URLS"] = 7
    live = {r.id for r in site.store.iter_records()}
    root = valid_sitemap(site.get("/sitemap.xml").content)
    assert etree.QName(root).localname == "sitemapindex"
    files = root.xpath("//s:sitemap/s:loc/text()", namespaces=SITEMAP_NS)
    assert len(files) == -(-len(live) // 7)
    seen: list[str] = []
    for url in files:
        part = valid_sitemap(site.get(url.removeprefix(site.url)).content)
        locs = part.xpath("//s:url/s:loc/text()", namespaces=SITEMAP_NS)
        assert 0 < len(locs) <= 7
        seen += [loc.rsplit("/", 1)[1] for loc in locs]
    assert len(seen) == len(set(seen)) and set(seen) == live
    assert site.get(f"/sitemaps/{len(files) + 1}.xml").status_code == 404


def test_health(site: Site) -> None:
    body = site.get("/health").json()
    assert body["status"] == "ok"
    assert body["checks"]["index"]["documents"] == len(list(site.store.iter_records()))
    assert body["checks"]["index"]["behind"] == 0


def test_cors_and_gzip_on_the_json_api(site: Site) -> None:
    r = site.get("/api/records", headers={"Origin": "https://example.org"})
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    assert r.headers["Content-Encoding"] == "gzip" and "Accept-Encoding" in r.headers["Vary"]
    raw = site.get("/api/records", headers={"Accept-Encoding": "gzip"}, stream=True).raw
    assert json.loads(gzip.decompress(raw.read()))["total"] > 0
    for refused in ("gzip;q=0", "identity", "*;q=0"):
        plain = site.get("/api/records", headers={"Accept-Encoding": refused})
        assert "Content-Encoding" not in plain.headers, refused
    import requests

    pre = requests.options(
        site.url + "/api/records",
        headers={
            "Origin": "https://example.org",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Authorization, Content-Type",
        },
        timeout=5,
    )
    assert pre.headers["Access-Control-Allow-Origin"] == "*"
    assert "authorization" in pre.headers["Access-Control-Allow-Headers"].lower()
    # a response with a strong ETag keeps it (If-Match must still match)
    rid = site.rid("zenodo", "rich")
    one = site.get(f"/api/records/{rid}")
    assert ":gzip" not in one.headers["ETag"] and "Content-Encoding" not in one.headers


def test_sitemap_ids_are_identifier_keys_too() -> None:
    # a landing page URL pasted into the search box is an identifier like any other URL
    assert identifier_key("https://example.org/records/abc/") == "example.org/records/abc"


def test_hostile_filter_values_are_escaped_everywhere(site: Site) -> None:
    evil = '"><script>alert(1)</script>'
    r = site.get("/search", params={"subject": evil, "q": evil})
    assert r.status_code in (200, 400)
    assert "<script>alert(1)" not in r.text
    doc = page(r)
    assert len(doc.xpath("//script")) == 1  # pages.js only
    if r.status_code == 200:
        [chip] = doc.xpath("//ul[@class='chips']/li/a[starts-with(@aria-label, 'Remove')]")
        assert evil in chip.text_content()


def test_unknown_pages_are_html_404(site: Site) -> None:
    r = site.get("/no/such/page")
    assert r.status_code == 404 and r.headers["Content-Type"].startswith("text/html")
    assert site.get("/api/no/such").headers["Content-Type"].startswith("application/json")
    assert site.get("/records/abc/export/json").status_code == 404


@pytest.mark.parametrize("rid", ["%00", "a%00b", "x" * 3000, "%C3%A9", "..%2F..%2Fetc", "%FF"])
def test_hostile_record_ids_are_404_pages(site: Site, rid: str) -> None:
    for path in (f"/records/{rid}", f"/records/{rid}/export/json", f"/api/records/{rid}"):
        r = site.get(path)
        assert r.status_code == 404, (path, r.status_code)


def test_a_page_past_the_last_one_says_so_and_links_back(site: Site) -> None:
    total = site.get("/api/records", params={"size": 0}).json()["total"]
    doc = page(site.get("/search", params={"page": 50, "size": 5}))
    text = " ".join(doc.xpath("string(//div[@class='empty'])").split())
    last = -(-total // 5)
    assert f"fill {last} pages" in text
    # its own pager would only lead to other empty pages
    assert not doc.xpath("//nav[@aria-label='Pages']")
    [to_last] = doc.xpath("//div[@class='empty']//a[.='last page']/@href")
    assert parse_qs(urlsplit(to_last).query)["page"] == [str(last)]
    assert page(site.get(to_last)).xpath("//ol[@class='hits']/li")


def test_a_filter_repeated_in_the_url_is_one_chip_removed_at_once(site: Site) -> None:
    doc = page(site.get("/search", params={"type": ["Dataset", "dataset"]}))
    chips = doc.xpath("//ul[@class='chips']/li/a[not(@class='clear')]/@href")
    assert len(chips) == 1
    assert "type" not in parse_qs(urlsplit(chips[0]).query)


def test_facet_values_past_the_first_ten_are_behind_more(site: Site) -> None:
    from pages_site import meta

    from catalogue.store import IncomingRecord

    site.store.upsert_page(
        "many",
        [
            IncomingRecord(
                f"m{i}", meta(f"Many {i}", 2010, "Dataset", subjects=[{"subject": f"s{i:02}"}])
            )
            for i in range(15)
        ],
    )
    site.indexer.catch_up()
    doc = page(site.get("/search", params={"q": "many", "subject": "s14"}))
    [subjects] = doc.xpath("//aside//details[.//h3='Subject']")
    first = subjects.xpath("./ul/li//span[@class='label']")
    more = subjects.xpath("./details[@class='more']/ul/li//span[@class='label']")
    labels = [" ".join(e.text_content().split()) for e in first + more]
    assert len(more) == 4 and "4 more" in subjects.xpath("string(./details[@class='more']/summary)")
    # the selected value stays in sight, every value the engine gave is a link
    assert "Remove filter: s14" in labels[: len(first)]
    api = site.get("/api/records", params={"q": "many", "subject": "s14"}).json()
    assert len(labels) == len(api["aggregations"]["subject"])
