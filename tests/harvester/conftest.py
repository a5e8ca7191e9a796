"""Fixtures for harvester tests: real OAI-PMH servers on localhost and fast settings."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from catalogue.config import Settings, load_settings
from catalogue.demo.replay import ReplayServer, start_replay_server
from catalogue.demo.repository import Repository
from harvester.settings import HarvestSettings

OAI_DC_FORMAT = (
    "http://www.openarchives.org/OAI/2.0/oai_dc.xsd",
    "http://www.openarchives.org/OAI/2.0/oai_dc/",
)


def record_xml(
    identifier: str,
    datestamp: datetime,
    title: str = "A title",
    *,
    sets: tuple[str, ...] = (),
    deleted: bool = False,
    payload: str | None = None,
) -> bytes:
    """A <record> element in the OAI namespace with an oai_dc payload (or ``payload``)."""
    specs = "".join(f"<setSpec>{s}</setSpec>" for s in sets)
    status = ' status="deleted"' if deleted else ""
    header = (
        f"<header{status}><identifier>{identifier}</identifier>"
        f"<datestamp>{datestamp:%Y-%m-%dT%H:%M:%SZ}</datestamp>{specs}</header>"
    )
    if payload is None:
        payload = (
            '<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/">'
            f"<dc:title>{escape(title)}</dc:title><dc:creator>Doe, Jane</dc:creator>"
            f"<dc:identifier>https://doi.org/10.1234/{identifier.rsplit(':', 1)[-1]}"
            "</dc:identifier><dc:date>2020-01-01</dc:date><dc:publisher>Test</dc:publisher>"
            "<dc:type>Dataset</dc:type></oai_dc:dc>"
        )
    metadata = "" if deleted else f"<metadata>{payload}</metadata>"
    return (
        f'<record xmlns="http://www.openarchives.org/OAI/2.0/">{header}{metadata}</record>'
    ).encode()


@pytest.fixture
def make_record() -> Callable[..., bytes]:
    return record_xml


@pytest.fixture
def small_repo() -> Repository:
    """Nine oai_dc records dated in 2020, served in pages of three."""
    repo = Repository(name="Small test repository", page_size=3, formats={"oai_dc": OAI_DC_FORMAT})
    for n in range(9):
        repo.add(
            "oai_dc",
            record_xml(
                f"oai:test:{n}",
                datetime(2020, 1, 1 + n),
                f"Record {n}",
                sets=("even",) if n % 2 == 0 else ("odd",),
            ),
        )
    return repo


@pytest.fixture
def serve() -> Iterator[Callable[..., ReplayServer]]:
    """serve({path: repository}) -> a started server; all are stopped at the end."""
    started: list[ReplayServer] = []

    def start(repositories: dict[str, Repository] | None = None) -> ReplayServer:
        server, _url = start_replay_server(repositories=repositories)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def replay(serve: Callable[..., ReplayServer]) -> ReplayServer:
    """The demo replay server with the recorded Zenodo, DSpace and sickle records."""
    return serve()


@pytest.fixture
def app_settings(tmp_path: Path) -> Settings:
    """The catalogue's settings with fast harvests (few, short retries)."""
    return load_settings(
        {
            "data_dir": str(tmp_path),
            "harvest": {"backoff": 0.01, "max_retries": 2, "timeout": 10, "overlap_seconds": 300},
        },
        env={},
    )


@pytest.fixture
def settings(app_settings: Settings) -> HarvestSettings:
    """The harvest settings of ``app_settings``: what the harvester takes."""
    return app_settings.harvest
