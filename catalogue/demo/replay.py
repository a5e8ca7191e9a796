"""A real HTTP OAI-PMH server replaying recorded responses, for the demo and for tests.

``start_replay_server()`` serves, on localhost in a background thread, one endpoint per
recorded repository (see ``data/SOURCES.md``)::

    /zenodo/oai   Zenodo (InvenioRDM) records, oai_dc and datacite (2026 recordings)
    /dspace/oai   Erasmus University Rotterdam DSpace, oai_dc (2003 recordings)
    /sickle/oai   sickle's sample repository, oai_dc, with deleted records
    /datacite/oai DataCite's own kernel-3/4 example records and bolognese's quirky ones,
                  one record each, served as prefix ``datacite`` (sets per folder)
    /b2share/     a B2SHARE REST API over recorded real B2SHARE records
                  (:mod:`catalogue.demo.b2share`)

The record XML is served verbatim from the recordings, re-wrapped in fresh envelopes and
re-paginated (see :mod:`catalogue.demo.repository`). :data:`DEMO_SOURCES` lists the
sources a demo should register (path relative to the server's base URL).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from urllib.parse import parse_qs, urlsplit

from lxml import etree

from catalogue.demo.b2share import B2ShareReplay
from catalogue.demo.repository import DAY, SECONDS, Repository
from mappings.namespaces import KERNEL4_NS, KERNEL4_SCHEMA, OAI_NS, OAI_TAG
from mappings.xml import parse_xml

log = logging.getLogger(__name__)

Intercept = Callable[[str, Mapping[str, list[str]]], "tuple[int, dict[str, str], bytes] | None"]
"""intercept(path, query) -> None to answer normally, or (status, headers, body) instead."""


@dataclass(frozen=True)
class DemoSource:
    key: str
    path: str
    metadata_prefix: str | None
    description: str
    type: str = "oai"
    config: dict = field(default_factory=dict)


DEMO_SOURCES: tuple[DemoSource, ...] = (
    DemoSource("zenodo", "/zenodo/oai", "oai_dc", "Zenodo records as Dublin Core"),
    DemoSource("zenodo-datacite", "/zenodo/oai", "datacite", "Zenodo records as DataCite XML"),
    DemoSource("dspace-eur", "/dspace/oai", "oai_dc", "Erasmus University DSpace (2003)"),
    DemoSource("sickle-sample", "/sickle/oai", "oai_dc", "sickle sample repository"),
    DemoSource("datacite-examples", "/datacite/oai", "datacite", "DataCite example records"),
    DemoSource(
        "b2share",
        "/b2share/",
        None,
        "EUDAT B2SHARE records over its REST API",
        type="b2share",
        config={"fetch_schemas": False, "page_size": 5},
    ),
)

# The DataCite example files are bare <resource> documents, not OAI-PMH responses: the
# replay gives each a header (identifier from its file name, a fixed datestamp, its folder
# as set) so they can be harvested like any other source.
_DATACITE_FOLDERS = ("xml-kernel-3", "xml-kernel-4", "xml-quirks-bolognese")
_DATACITE_DATESTAMP = datetime(2024, 1, 1, tzinfo=UTC)

_RECORDINGS = {
    "zenodo": {
        "oai_dc": (
            "ListRecords_oai_dc_from_until.xml",
            "ListRecords_oai_dc_set_software.xml",
            "ListRecords_oai_dc_resumption_page2.xml",
            "GetRecord_oai_dc.xml",
        ),
        "datacite": ("ListRecords_datacite.xml", "GetRecord_datacite.xml"),
    },
    "dspace": {
        "oai_dc": (
            "ListRecords.xml",
            "GetRecord.xml",
            "GetRecord_hdl_1765_1160.xml",
            "GetRecord_hdl_1765_1162.xml",
        ),
    },
    "sickle": {
        "oai_dc": ("ListRecords.xml", "ListRecords2.xml", "ListRecords3.xml", "ListRecords4.xml"),
    },
}


def _read(name: str, filename: str) -> bytes:
    return resources.files("catalogue.demo").joinpath("data", name, filename).read_bytes()


def load_recorded(name: str, page_size: int = 25) -> Repository:
    """The recorded repository ``name`` (a folder of ``data/``) as a Repository."""
    identify = parse_xml(_read(name, "Identify.xml")).find(OAI_TAG + "Identify")
    granularity = identify.findtext(OAI_TAG + "granularity", SECONDS).strip()
    repo = Repository(
        name=identify.findtext(OAI_TAG + "repositoryName", name).strip(),
        granularity=DAY if granularity == DAY else SECONDS,
        admin_email=identify.findtext(OAI_TAG + "adminEmail", "admin@example.org").strip(),
        # The replay keeps every deleted record it was given: "persistent" is true here.
        deleted_record="persistent",
        page_size=page_size,
    )
    for node in parse_xml(_read(name, "ListMetadataFormats.xml")).iter(OAI_TAG + "metadataFormat"):
        prefix = node.findtext(OAI_TAG + "metadataPrefix", "").strip()
        repo.formats[prefix] = (
            node.findtext(OAI_TAG + "schema", "").strip(),
            node.findtext(OAI_TAG + "metadataNamespace", "").strip(),
        )
    for prefix, files in _RECORDINGS[name].items():
        for filename in files:
            repo.add_list_records(prefix, _read(name, filename))
    return repo


def load_datacite_examples(page_size: int = 25) -> Repository:
    """DataCite's example records (data/datacite/) as a repository offering ``datacite``."""
    repo = Repository(name="DataCite example records", page_size=page_size)
    repo.formats["datacite"] = (KERNEL4_SCHEMA, KERNEL4_NS)
    folder = resources.files("catalogue.demo").joinpath("data", "datacite")
    for n, sub in enumerate(_DATACITE_FOLDERS):
        files = sorted(f for f in folder.joinpath(sub).iterdir() if f.name.endswith(".xml"))
        for m, file in enumerate(files):
            datestamp = _DATACITE_DATESTAMP + timedelta(hours=n, minutes=m)
            record = etree.Element(OAI_TAG + "record", nsmap={None: OAI_NS})
            header = etree.SubElement(record, OAI_TAG + "header")
            etree.SubElement(
                header, OAI_TAG + "identifier"
            ).text = f"oai:datacite-examples:{file.name.removesuffix('.xml')}"
            etree.SubElement(header, OAI_TAG + "datestamp").text = f"{datestamp:%Y-%m-%dT%H:%M:%SZ}"
            etree.SubElement(header, OAI_TAG + "setSpec").text = sub
            metadata = etree.SubElement(record, OAI_TAG + "metadata")
            metadata.append(parse_xml(file.read_bytes()))
            repo.add("datacite", etree.tostring(record, encoding="utf-8"))
    return repo


def demo_repositories(page_size: int = 25) -> dict[str, Repository]:
    """Path -> repository for every recorded repository."""
    repos = {f"/{name}/oai": load_recorded(name, page_size) for name in _RECORDINGS}
    repos["/datacite/oai"] = load_datacite_examples(page_size)
    return repos


class ReplayServer(ThreadingHTTPServer):
    """An OAI-PMH HTTP server over several repositories, one per URL path."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], repositories: dict[str, Repository]) -> None:
        super().__init__(address, _Handler)
        self.repositories = repositories
        self.requests: list[tuple[str, dict[str, list[str]]]] = []
        self.user_agents: list[str | None] = []
        self.intercept: Intercept | None = None
        # REST APIs under a path prefix: prefix -> app with respond(rest, query, base)
        self.apis: dict[str, B2ShareReplay] = {"/b2share/": B2ShareReplay()}
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def start(self) -> None:
        self._thread = threading.Thread(target=self.serve_forever, name="oai-replay", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self.shutdown()
        self.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)


class _Handler(BaseHTTPRequestHandler):
    server: ReplayServer
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 - the http.server naming
        parts = urlsplit(self.path)
        self._answer(parts.path, parse_qs(parts.query, keep_blank_values=True))

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8", errors="replace")
        self._answer(urlsplit(self.path).path, parse_qs(body, keep_blank_values=True))

    def _answer(self, path: str, query: dict[str, list[str]]) -> None:
        self.server.requests.append((path, query))
        self.server.user_agents.append(self.headers.get("User-Agent"))
        special = self.server.intercept(path, query) if self.server.intercept else None
        if special is not None:
            status, headers, body = special
        elif path in self.server.repositories:
            repo = self.server.repositories[path]
            status, headers = 200, {"Content-Type": "text/xml; charset=utf-8"}
            body = repo.respond(query, self.server.url(path))
        elif api := next((p for p in self.server.apis if path.startswith(p)), None):
            rest = path[len(api) :]
            status, headers, body = self.server.apis[api].respond(rest, query, self.server.url(api))
        else:
            status, headers, body = 404, {"Content-Type": "text/plain"}, b"not found\n"
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        log.debug("replay %s: " + format, self.address_string(), *args)


def start_replay_server(
    host: str = "127.0.0.1",
    port: int = 0,
    repositories: dict[str, Repository] | None = None,
    *,
    page_size: int = 25,
) -> tuple[ReplayServer, str]:
    """Start serving in a background thread; returns (server, base URL). ``port=0``: any free.

    Without ``repositories`` it serves the recorded demo repositories. Stop it with
    :func:`stop_replay_server` (or ``server.stop()``).
    """
    server = ReplayServer((host, port), repositories or demo_repositories(page_size))
    server.start()
    log.info("OAI-PMH replay server at %s (%s)", server.base_url, ", ".join(server.repositories))
    return server, server.base_url


def stop_replay_server(server: ReplayServer) -> None:
    server.stop()


def record_counts(repositories: Mapping[str, Repository] | None = None) -> dict[str, dict]:
    """Path -> {prefix: records, "deleted": deleted records} (for docs and the demo's summary)."""
    counts: dict[str, dict] = {}
    for path, repo in (repositories or demo_repositories()).items():
        entry: dict[str, int] = {p: repo.count(p) for p in repo.records}
        entry["deleted"] = sum(r.deleted for recs in repo.records.values() for r in recs.values())
        entry["distinct"] = repo.count()
        counts[path] = entry
    return counts


__all__ = [
    "DEMO_SOURCES",
    "DemoSource",
    "ReplayServer",
    "demo_repositories",
    "load_recorded",
    "record_counts",
    "start_replay_server",
    "stop_replay_server",
]
