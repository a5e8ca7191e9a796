"""Careless admins against a real catalogue: credentials in source URLs never shown, OAI-PMH
sources authenticated like REST ones, the address deny-list on every hop and for every
source type, no self-harvest, owner-only files (issue 18)."""

from __future__ import annotations

import json
import stat
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from catalogue.demo.replay import demo_repositories

pytestmark = pytest.mark.hostile

SECRETS = ("s3cretpass", "KEY-0123456789", "tok-abcdef-123456")
METADATA_URL = "http://169.254.169.254/latest/meta-data/"


class Upstream(ThreadingHTTPServer):
    """A recorded OAI-PMH repository that notes what each request carried, plus redirects
    to the cloud metadata address and to a URL chosen by the test."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.repository = demo_repositories()["/zenodo/oai"]
        self.seen: list[tuple[str, str | None, dict[str, list[str]]]] = []
        self.redirect_to = METADATA_URL

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: Upstream

    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        parts = urlsplit(self.path)
        query = parse_qs(parts.query, keep_blank_values=True)
        self.server.seen.append((parts.path, self.headers.get("Authorization"), query))
        if parts.path.startswith("/redirect"):
            self.send_response(302)
            self.send_header("Location", self.server.redirect_to)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        # the credentials are the upstream's business, not the protocol's arguments
        args = {k: v for k, v in query.items() if k not in ("apikey", "access_token")}
        body = self.server.repository.respond(args, self.server.base + "/oai")
        self.send_response(200)
        self.send_header("Content-Type", "text/xml; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def upstream() -> Iterator[Upstream]:
    server = Upstream()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _public_texts(served) -> list[str]:
    texts = [served.get("/api/sources").text, served.get("/").text]
    for source in served.get("/api/sources").json()["sources"]:
        texts.append(served.get(f"/api/sources/{source['key']}/runs").text)
    texts.append(served.get("/oai", params={"verb": "ListSets"}).text)
    # the landing page of a harvested record names its source's URL
    listed = served.get("/oai", params={"verb": "ListIdentifiers", "metadataPrefix": "oai_dc"})
    if "<identifier>" in listed.text:
        rid = listed.text.split("<identifier>", 1)[1].split("<", 1)[0].rsplit(":", 1)[1]
        texts.append(served.get(f"/records/{rid}").text)
    params = {"verb": "ListRecords", "metadataPrefix": "oai_dc"}
    while params:
        r = served.get("/oai", params=params)
        texts.append(r.text)
        token = r.text.split("<resumptionToken", 1)[-1]
        token = (
            token.split(">", 1)[1].split("<", 1)[0]
            if ">" in token and "</resumptionToken>" in r.text
            else ""
        )
        params = {"verb": "ListRecords", "resumptionToken": token} if token else {}
    return texts


def test_credentials_in_source_urls_never_shown(served, upstream, timed) -> None:
    url = f"http://harvester:{SECRETS[0]}@127.0.0.1:{upstream.server_address[1]}/oai?apikey={SECRETS[1]}"
    added = served.cli("sources", "add", "careless", url, "--prefix", "oai_dc")
    assert "carries credentials" in added.stderr
    with timed(60):
        served.cli("harvest", "careless")
    assert any(q.get("apikey") == [SECRETS[1]] for _, _, q in upstream.seen)
    sources = {s["key"]: s for s in served.get("/api/sources").json()["sources"]}
    assert sources["careless"]["records"] > 0
    assert sources["careless"]["url"].endswith("/oai?apikey=***")
    texts = _public_texts(served)
    assert any("<provenance" in t and "apikey=***" in t for t in texts)
    for text in texts:
        for secret in SECRETS[:2]:
            assert secret not in text

    # a failing run's message names the URL: redacted too
    served.cli("sources", "add", "careless-down", url.replace("/oai?", "/redirect?"))
    served.cli("harvest", "careless-down", check=False)
    runs = served.get("/api/sources/careless-down/runs").json()["runs"]
    assert runs[0]["status"] == "failed"
    assert SECRETS[0] not in json.dumps(runs) and SECRETS[1] not in json.dumps(runs)


@pytest.mark.parametrize(
    "auth",
    [
        {"token_env": "HOSTILE_OAI_TOKEN"},
        {"type": "query", "param": "access_token", "token_env": "HOSTILE_OAI_TOKEN"},
    ],
)
def test_oai_sources_authenticate_like_rest_sources(served, upstream, tmp_path, auth) -> None:
    key = f"with-auth-{auth.get('type', 'header')}"
    config = tmp_path / "auth.json"
    config.write_text(json.dumps({"auth": auth}))
    url = f"http://127.0.0.1:{upstream.server_address[1]}/oai"
    served.cli("sources", "add", key, url, "--prefix", "oai_dc", "--config", str(config))
    before = len(upstream.seen)
    served.cli("harvest", key, HOSTILE_OAI_TOKEN=SECRETS[2])
    requests_made = upstream.seen[before:]
    assert requests_made
    if auth.get("type") == "query":
        assert all(q.get("access_token") == [SECRETS[2]] for _, _, q in requests_made)
    else:
        assert all(header == f"Bearer {SECRETS[2]}" for _, header, _ in requests_made)
    for text in _public_texts(served):
        assert SECRETS[2] not in text
    # the token lives in the environment, never in the database
    assert SECRETS[2] not in served.cli("sources", "list").stdout
    # an OAI-PMH source config is checked like a REST one
    config.write_text(json.dumps({"auth": {"scheme": "Bearer"}, "colour": "red"}))
    bad = served.cli("sources", "add", key + "-bad", url, "--config", str(config), check=False)
    assert bad.returncode != 0 and "invalid oai source config" in bad.stderr


def test_deny_list_on_every_hop_and_every_source_type(served, upstream, timed) -> None:
    for kind in ("oai", "b2share"):
        refused = served.cli(
            "sources", "add", f"meta-{kind}", METADATA_URL, "--type", kind, check=False
        )
        assert refused.returncode != 0 and "denied address range" in refused.stderr
    # a redirect to the metadata service, for an OAI-PMH and a REST source
    base = f"http://127.0.0.1:{upstream.server_address[1]}"
    served.cli("sources", "add", "hop-oai", f"{base}/redirect/oai")
    served.cli("sources", "add", "hop-rest", f"{base}/redirect/b2", "--type", "b2share")
    for key in ("hop-oai", "hop-rest"):
        with timed(30):
            served.cli("harvest", key, check=False)
        run = served.get(f"/api/sources/{key}/runs").json()["runs"][0]
        assert run["status"] == "failed" and "denied address range" in run["message"], run
    # a configured range covers loopback too, checked at connect time as well
    served.cli("sources", "add", "loop", f"{base}/oai", "--prefix", "oai_dc")
    served.cli("harvest", "loop", check=False, CATALOGUE_HARVEST_DENY_NETWORKS="127.0.0.0/8")
    run = served.get("/api/sources/loop/runs").json()["runs"][0]
    assert run["status"] == "failed" and "denied address range" in run["message"]


def test_the_catalogue_cannot_harvest_itself(served, upstream, timed) -> None:
    served.cli("sources", "add", "myself", f"{served.url}/oai")
    upstream.redirect_to = f"{served.url}/oai"
    base = f"http://127.0.0.1:{upstream.server_address[1]}"
    served.cli("sources", "add", "myself-via-redirect", f"{base}/redirect/self")
    for key in ("myself", "myself-via-redirect"):
        with timed(30):
            served.cli("harvest", key, check=False)
        run = served.get(f"/api/sources/{key}/runs").json()["runs"][0]
        assert run["status"] == "failed" and "cannot harvest itself" in run["message"], run
        assert run["counts"]["added"] == 0
    upstream.redirect_to = METADATA_URL


def test_newline_in_a_source_url_is_refused(served) -> None:
    for url in (
        "http://127.0.0.1/oai\nX-Injected: 1",
        "http://127.0.0.1/o ai",
        "http://127.0.0.1/\toai",
    ):
        r = served.cli("sources", "add", "newline", url, check=False)
        assert r.returncode != 0 and "whitespace or control characters" in r.stderr, r.stderr
    assert "newline" not in served.get("/api/sources").text


def test_data_directory_and_database_are_owner_only(served) -> None:
    assert stat.S_IMODE(served.data_dir.stat().st_mode) == 0o700
    if served.backend == "sqlite":
        files = [
            p for p in Path(served.data_dir).iterdir() if p.name.startswith("catalogue.sqlite3")
        ]
        assert files
        for path in files:
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
