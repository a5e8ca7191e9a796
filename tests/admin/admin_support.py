"""Helpers of the admin tests: an HTTP client with tokens, a small OAI-PMH repository."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import requests

from catalogue.demo.repository import Repository

OAI_DC = (
    "http://www.openarchives.org/OAI/2.0/oai_dc.xsd",
    "http://www.openarchives.org/OAI/2.0/oai_dc/",
)


def record_xml(identifier: str, datestamp: datetime, title: str, payload: str | None = None):
    header = (
        f"<header><identifier>{identifier}</identifier>"
        f"<datestamp>{datestamp:%Y-%m-%dT%H:%M:%SZ}</datestamp><setSpec>all</setSpec></header>"
    )
    if payload is None:
        payload = (
            '<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/">'
            f"<dc:title>{title}</dc:title><dc:creator>Doe, Jane</dc:creator>"
            f"<dc:identifier>https://doi.org/10.1234/{identifier.rsplit(':', 1)[-1]}"
            "</dc:identifier><dc:date>2020-01-01</dc:date><dc:publisher>Test</dc:publisher>"
            "<dc:type>Dataset</dc:type></oai_dc:dc>"
        )
    return (
        f'<record xmlns="http://www.openarchives.org/OAI/2.0/">{header}'
        f"<metadata>{payload}</metadata></record>"
    ).encode()


def small_repository(n: int = 6, bad: int = 1) -> Repository:
    """``n`` good oai_dc records and ``bad`` ones that fail to map, pages of three."""
    repo = Repository(name="Admin test repository", page_size=3, formats={"oai_dc": OAI_DC})
    for i in range(n):
        repo.add("oai_dc", record_xml(f"oai:adm:{i}", datetime(2021, 1, 1 + i), f"Lake {i}"))
    for i in range(bad):
        repo.add("oai_dc", record_xml(f"oai:adm:bad{i}", datetime(2021, 2, 1 + i), "", "<x/>"))
    return repo


@dataclass
class AdminApp:
    url: str
    store: Any
    indexer: Any
    settings: dict[str, Any]
    depositor: str
    admin: str
    reader: str

    def call(self, method: str, path: str, token: str | None = "admin", **kw) -> requests.Response:
        headers = dict(kw.pop("headers", {}))
        if token is not None:
            headers["Authorization"] = f"Bearer {getattr(self, token, token)}"
        return requests.request(method, self.url + path, headers=headers, timeout=30, **kw)

    def wait_run(self, location: str, timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            run = self.call("GET", location).json()
            if run["status"] in ("succeeded", "failed"):
                return run
            if time.monotonic() > deadline:
                raise AssertionError(f"run still {run['status']}")
            time.sleep(0.2)
