"""Hostile readers against a real server: OAI-PMH arguments and tokens are untrusted input,
numbers are ASCII, pages are bounded in bytes, errors name no internals (issue 18)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from lxml import etree, html

from catalogue.web.oai.arguments import ListArgs
from catalogue.web.oai.tokens import ListState, TokenSigner

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "xsd"))
from validate import validate  # noqa: E402  (tests/xsd/validate.py, a verbatim copy)

pytestmark = pytest.mark.hostile

OAI = {"o": "http://www.openarchives.org/OAI/2.0/"}
BUDGET = 2 * 1024 * 1024  # CATALOGUE_MAX_RESPONSE_BYTES of the served catalogue
BULKY = 12
RECORD_BYTES = 900_000  # under ingest.max_record_bytes (1 MiB)


def metadata(title: str, **extra: Any) -> dict:
    return {
        "titles": [{"title": title}],
        "creators": [{"name": "Curie, Marie", "nameType": "Personal"}],
        "publisher": "Catalogue",
        "publicationYear": 2024,
        "types": {"resourceTypeGeneral": "Dataset"},
        **extra,
    }


def oai_error(response) -> str:
    assert response.status_code == 200
    assert validate(response.content, "oai-pmh"), validate(response.content, "oai-pmh").errors
    root = etree.fromstring(response.content)
    return root.find("o:error", OAI).get("code")


def test_resumption_token_contents_are_untrusted(served, timed) -> None:
    # signed with the shipped default secret, as anyone can
    signer = TokenSigner("change-me")
    args = ListArgs("oai_dc", None, None, None)
    for last_id in ("\ud800", "a\x00b", "\x00", "é" * 10):
        token = signer.encode("ListRecords", ListState(args, (datetime(2020, 1, 1), last_id), 1, 5))
        with timed(5):
            r = served.get("/oai", params={"verb": "ListRecords", "resumptionToken": token})
        assert oai_error(r) == "badResumptionToken", last_id
    huge = signer.encode("ListRecords", ListState(args, (datetime(2020, 1, 1), "x"), 1, 5))
    payload = json.loads(_unb64(huge.split(".")[0]))
    payload[5] = 10**30  # a datestamp no datetime can hold
    forged = _b64(json.dumps(payload).encode())
    forged = f"{forged}.{_b64(signer._mac('ListRecords', forged))}"
    r = served.get("/oai", params={"verb": "ListRecords", "resumptionToken": forged})
    assert oai_error(r) == "badResumptionToken"


def test_from_and_until_take_ascii_digits_only(served) -> None:
    for value in ("２０２４-01-01", "2024-01-0١", "2024-01-01T00:00:0０Z", "+2024-01-01"):
        for name in ("from", "until"):
            r = served.get(
                "/oai", params={"verb": "ListRecords", "metadataPrefix": "oai_dc", name: value}
            )
            assert oai_error(r) == "badArgument", (name, value)
            assert value.encode() not in r.content


def test_page_and_size_take_ascii_digits_only(served) -> None:
    for value in ("+5", "5_0", "１", " 5", "٥", "0x5", "1e2"):
        for name in ("page", "size"):
            r = served.get("/api/records", params={name: value})
            assert r.status_code == 400, (name, value)
            assert r.json()["errors"][0]["field"] == name


@pytest.fixture(scope="module")
def bulky(served) -> list[str]:
    """BULKY records of about RECORD_BYTES each, indexed."""
    ids = []
    for n in range(BULKY):
        descriptions = [{"description": f"bulky{n} " + "z" * 99_000} for _ in range(9)]
        r = served.call(
            "POST",
            "/api/records",
            json={"metadata": metadata(f"bulky {n}", descriptions=descriptions)},
        )
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    deadline = time.monotonic() + 60
    while served.get("/api/records", params={"q": "bulky", "size": 0}).json()["total"] < BULKY:
        assert time.monotonic() < deadline, "records not indexed within 60 s"
        time.sleep(0.3)
    return ids


def test_search_pages_are_bounded_in_bytes(served, bulky, timed) -> None:
    seen: list[str] = []
    url = "/api/records?q=bulky&size=20"
    pages = 0
    while url:
        with timed(10):
            r = served.get(url)
        assert r.status_code == 200, r.text
        assert len(r.content) <= BUDGET + 1_100_000, len(r.content)  # at most one record over
        body = r.json()
        assert 0 < len(body["hits"]) < 20
        seen += [hit["id"] for hit in body["hits"]]
        pages += 1
        nxt = body["links"].get("next")
        url = nxt[len(served.url) :] if nxt else None
    assert sorted(seen) == sorted(bulky) and pages >= 4


def test_paging_on_after_pages_cut_short_reaches_every_hit(served, bulky) -> None:
    """Pages cut short by their size in bytes hold fewer hits than ``size``: the full pages
    after them still link on to the last hit (the page number no longer tells how many
    hits came before; the cursor does)."""
    small = []
    for n in range(30):
        r = served.call("POST", "/api/records", json={"metadata": metadata(f"tiny {n}")})
        assert r.status_code == 201, r.text
        small.append(r.json()["id"])
    deadline = time.monotonic() + 60
    while served.get("/api/records", params={"q": "tiny", "size": 0}).json()["total"] < 30:
        assert time.monotonic() < deadline, "records not indexed within 60 s"
        time.sleep(0.3)
    seen: list[str] = []
    url: str | None = "/api/records?q=bulky+OR+tiny&size=7&sort=title"
    while url:  # the bulky titles sort first: pages cut short, then full ones
        r = served.get(url)
        assert r.status_code == 200, r.text
        body = r.json()
        seen += [hit["id"] for hit in body["hits"]]
        nxt = body["links"].get("next")
        url = nxt[len(served.url) :] if nxt else None
    assert len(seen) == len(set(seen)) and sorted(seen) == sorted(bulky + small)

    # the pages say which hits they show, counted as the hits they hold
    shown = 0
    url = "/search?q=bulky+OR+tiny&size=7&sort=title"
    while url:
        doc = html.fromstring(served.get(url).content)
        hits = len(doc.xpath("//ol[@class='hits']/li"))
        heading = " ".join(doc.xpath("string(//h2[@id='results-heading'])").split())
        assert heading.startswith(f"{shown + 1}–{shown + hits} of {len(seen)}"), heading
        assert doc.xpath("//ol[@class='hits']/@start") == [str(shown + 1)]
        shown += hits
        nxt = doc.xpath("//nav[@aria-label='Pages']//a[@rel='next']/@href")
        url = nxt[0] if nxt else None
    assert shown == len(seen)


def test_oai_pages_are_bounded_in_bytes_and_memory(served, bulky, timed) -> None:
    seen: set[str] = set()
    params: dict[str, str] = {
        "verb": "ListRecords",
        "metadataPrefix": "oai_dc",
        "set": "source:local",
    }
    while params:
        with timed(10):
            r = served.get("/oai", params=params)
        assert len(r.content) <= BUDGET + 1_100_000, len(r.content)
        root = etree.fromstring(r.content)
        assert root.find("o:error", OAI) is None
        seen.update(
            i.text.rsplit(":", 1)[1] for i in root.iterfind(".//o:header/o:identifier", OAI)
        )
        token = root.find(".//o:resumptionToken", OAI)
        params = (
            {"verb": "ListRecords", "resumptionToken": token.text}
            if token is not None and token.text
            else {}
        )
    assert set(bulky) <= seen

    # concurrent anonymous pages (4 OAI, 4 search): the server's peak RSS stays bounded
    start = served.status()["VmRSS"]
    served.reset_peak()
    errors: list[str] = []

    def fetch(path: str, params: dict) -> None:
        r = served.get(path, params=params, timeout=60)
        if r.status_code != 200:
            errors.append(r.text[:200])

    threads = [
        threading.Thread(
            target=fetch,
            args=("/oai", {"verb": "ListRecords", "metadataPrefix": p, "set": "source:local"}),
        )
        for p in ("oai_dc", "oai_datacite", "oai_dc", "oai_datacite")
    ] + [
        threading.Thread(target=fetch, args=("/api/records", {"q": "bulky", "size": 200}))
        for _ in range(4)
    ]
    with timed(60):
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert not errors
    growth = served.peak_growth_mb(start)
    assert growth < 300, f"peak RSS grew {growth:.0f} MB"


def _assert_raw_bytes_get_json(url: str) -> None:
    parts = urlsplit(url)
    for target in (b"/api/records/\xff\xfe", b"/api/records?q=\xff", b"/oai?verb=\xc3"):
        with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
            sock.sendall(b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 400"), head
        assert b"application/json" in head
        error = json.loads(body)
        assert error["status"] == 400 and isinstance(error["errors"], list)


def test_raw_non_ascii_bytes_in_the_target_get_the_json_shape(served) -> None:
    _assert_raw_bytes_get_json(served.url)


def test_raw_bytes_get_the_json_shape_from_several_workers_too(served, tmp_path) -> None:
    if served.backend != "sqlite":
        pytest.skip("the server choice does not depend on the database")
    env = {**served.env, "CATALOGUE_DATA_DIR": str(tmp_path), "CATALOGUE_DATABASE_URL": ""}
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "catalogue", "serve", "--port", str(port), "--workers", "2",
         "--no-indexer"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{url}/oai?verb=Identify", timeout=2).ok:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline and process.poll() is None
            time.sleep(0.2)
        _assert_raw_bytes_get_json(url)
    finally:
        process.terminate()
        process.wait(20)


def test_internal_fields_and_engine_errors_stay_inside(served, bulky) -> None:
    for q in (
        "text:bulky",
        "title_sort:[a TO z] AND bulky",
        "sort_newest:1",
        "(record:x OR bulky)",
    ):
        r = served.get("/api/records", params={"q": q})
        assert r.status_code == 400, (q, r.text)
        assert "there is no field" in r.json()["errors"][0]["message"]
    # a quoted "text:" is just text
    assert served.get("/api/records", params={"q": '"text:bulky"'}).status_code == 200
    for q in ("year:abc AND bulky", "bulky AND year:[x TO 2]", "year:99999999999999999999 OR x"):
        r = served.get("/api/records", params={"q": q})
        assert r.status_code in (200, 400), r.text
        for internal in ("ParseIntError", "kind:", "InvalidDigit", "sys.", "Traceback"):
            assert internal not in r.text, (q, r.text)


def _b64(data: bytes) -> str:
    import base64

    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    import base64

    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def test_search_cursor_contents_are_untrusted(served, bulky) -> None:
    from itsdangerous import URLSafeSerializer

    class AsciiJson:  # itsdangerous's default would refuse to sign a lone surrogate
        @staticmethod
        def dumps(obj: Any, **_: Any) -> str:
            return json.dumps(obj, ensure_ascii=True)

        @staticmethod
        def loads(text: str | bytes, **_: Any) -> Any:
            return json.loads(text)

    # signed with the shipped default secret, as anyone can
    signer = URLSafeSerializer("change-me", salt="search-cursor", serializer=AsciiJson)
    forged = [None, "x", [], {"a": 1}, ["offset", 10**30], ["offset", "\ud800"], ["offset", -1],
              ["offset", 1.5], ["x" * 5000], ["offset", 10**18]]  # fmt: skip
    for after in forged:
        cursor = signer.dumps({"sort": "relevance", "after": after})
        r = served.get("/api/records", params={"q": "bulky", "cursor": cursor, "page": 2})
        assert r.status_code == 400, (after, r.text)
        assert r.json()["errors"][0]["field"] in ("cursor", "q")
    for data in ([1, 2], "x", {"sort": "relevance"}):
        r = served.get("/api/records", params={"q": "bulky", "cursor": signer.dumps(data)})
        assert r.status_code == 400, (data, r.text)
