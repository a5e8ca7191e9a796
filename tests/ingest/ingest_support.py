"""Helpers of the ingest API tests: the live app handle, sample metadata, a test server."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests

from catalogue.config import Settings
from catalogue.search.indexer import Indexer
from catalogue.store import Store

DEFAULT = object()  # "the depositor token", as opposed to an explicit None (no token)


@dataclass
class IngestApp:
    url: str
    store: Store
    indexer: Indexer
    settings: Settings
    depositor: str
    admin: str
    reader: str

    def call(
        self,
        method: str,
        path: str,
        *,
        token: Any = DEFAULT,
        headers: dict | None = None,
        **kw: Any,
    ) -> requests.Response:
        headers = dict(headers or {})
        token = self.depositor if token is DEFAULT else token
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return requests.request(method, self.url + path, headers=headers, timeout=30, **kw)

    def post(self, body: Any, path: str = "/api/records", **kw: Any) -> requests.Response:
        return self.call("POST", path, json=body, **kw)

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.call("GET", path, token=None, **kw)

    def create(self, metadata: dict[str, Any], **envelope: Any) -> requests.Response:
        r = self.post({"metadata": metadata, **envelope})
        assert r.status_code == 201, r.text
        return r

    def local_count(self, *, deleted: bool = False) -> int:
        return self.store.count_records("local", deleted=deleted)


def metadata(
    title: str = "Ocean temperature profiles", *, doi: str | None = None, **extra: Any
) -> dict:
    md: dict[str, Any] = {
        "titles": [{"title": title}],
        "creators": [{"name": "Curie, Marie", "nameType": "Personal"}],
        "publisher": "Catalogue",
        "publicationYear": 2024,
        "types": {"resourceTypeGeneral": "Dataset"},
    }
    if doi:
        md["identifiers"] = [{"identifier": doi, "identifierType": "DOI"}]
    md.update(extra)
    return md
