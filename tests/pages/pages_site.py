"""Helpers of the page tests: a live catalogue site (real store, tantivy index, Flask over
HTTP) with a small corpus that exercises every part of the pages: DOIs, ORCIDs, licences,
relations, a tombstone."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from live_server import serve_in_thread

from catalogue.config import load_settings
from catalogue.search.indexer import Indexer, open_index
from catalogue.store import IncomingRecord, Store
from catalogue.web.app import create_app

HOSTILE_TITLE = '</script><script>alert("x")</script> & <b>bold</b>'


def meta(title: str, year: int, rtype: str, **extra: Any) -> dict[str, Any]:
    md: dict[str, Any] = {
        "titles": [{"title": title}],
        "creators": [{"name": "Curie, Marie", "nameType": "Personal"}],
        "publisher": extra.pop("publisher", "Zenodo"),
        "publicationYear": year,
        "types": {"resourceTypeGeneral": rtype},
        "descriptions": [
            {
                "description": extra.pop("description", f"About {title.lower()}."),
                "descriptionType": "Abstract",
            }
        ],
    }
    md.update(extra)
    return md


RICH = meta(
    "Arctic sea ice thickness from CryoSat-2",
    2021,
    "Dataset",
    identifiers=[{"identifier": "10.5281/zenodo.8406062", "identifierType": "DOI"}],
    creators=[
        {
            "name": "Müller, Anna",
            "nameType": "Personal",
            "givenName": "Anna",
            "familyName": "Müller",
            "nameIdentifiers": [
                {
                    "nameIdentifier": "https://orcid.org/0000-0002-1825-0097",
                    "nameIdentifierScheme": "ORCID",
                }
            ],
            "affiliation": [{"name": "Alfred Wegener Institute"}],
        },
        {"name": "Polar Consortium", "nameType": "Organizational"},
    ],
    subjects=[{"subject": "Sea ice"}, {"subject": "Climate change"}],
    rightsList=[
        {
            "rights": "Creative Commons Attribution 4.0 International",
            "rightsUri": "https://creativecommons.org/licenses/by/4.0/",
        }
    ],
    relatedIdentifiers=[
        {
            "relatedIdentifier": "10.1000/paper.1",
            "relatedIdentifierType": "DOI",
            "relationType": "IsSupplementTo",
        },
        {
            "relatedIdentifier": "10.5281/zenodo.1",
            "relatedIdentifierType": "DOI",
            "relationType": "IsNewVersionOf",
        },
    ],
    fundingReferences=[{"funderName": "European Commission", "awardNumber": "101003"}],
    geoLocations=[
        {
            "geoLocationPlace": "Arctic Ocean",
            "geoLocationPoint": {"pointLatitude": 85.0, "pointLongitude": 10.0},
        }
    ],
    language="en",
    version="2.1",
    description="Monthly sea ice thickness of the Arctic Ocean, derived from radar altimetry "
    "of the CryoSat-2 satellite between 2010 and 2020, gridded at 25 km.",
)


def corpus() -> dict[str, dict[str, dict[str, Any]]]:
    zenodo = {"rich": RICH}
    for i in range(30):
        zenodo[f"z{i}"] = meta(
            f"Ocean temperature profiles {i}",
            2000 + i % 5,
            "Dataset" if i % 3 else "Software",
            subjects=[{"subject": "Oceanography"}],
            rightsList=[{"rights": "CC BY 4.0"}] if i % 2 else [],
        )
    return {
        "zenodo": zenodo,
        "pangaea": {
            "hostile": meta(HOSTILE_TITLE, 2019, "Text", publisher="PANGAEA"),
            "gone": meta("Withdrawn glacier survey", 2018, "Dataset", publisher="PANGAEA"),
        },
    }


@dataclass
class Site:
    url: str
    store: Store
    indexer: Indexer
    app: Any

    def get(self, path: str, **kw: Any) -> requests.Response:
        kw.setdefault("timeout", 10)
        return requests.get(self.url + path, **kw)

    def rid(self, source: str, source_id: str) -> str:
        from catalogue.model import record_id

        return record_id(source, source_id)


def start_site(
    store: Store, tmp_path: Path, search: dict[str, Any] | None = None
) -> Iterator[Site]:
    """The site over HTTP; ``search``: settings of its [search] section."""
    settings = load_settings(
        {
            "data_dir": str(tmp_path),
            "index_dir": str(tmp_path / "index"),
            "search_url": "",
            "oai": {"page_size": 10},
            **({"search": search} if search else {}),
        }
    )
    writer = open_index(settings, writer=True)
    indexer = Indexer(store, writer)
    for source, records in corpus().items():
        store.upsert_page(source, [IncomingRecord(sid, md) for sid, md in records.items()])
    store.mark_deleted("pangaea", ["gone"])
    indexer.catch_up()
    app = create_app(settings, store=store)
    try:
        for url in serve_in_thread(app):
            yield Site(url, store, indexer, app)
    finally:
        writer.close()
