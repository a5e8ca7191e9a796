"""Synthetic DataCite-shaped records for the search tests."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from catalogue.model import Record, record_id
from catalogue.search.embedded import TantivyIndex
from catalogue.store import IncomingRecord

CORPUS_SIZE = 300
SOURCES = ("alpha", "beta")
TOPICS = ("Ocean temperature", "Forest soil", "Glacier melt", "Urban air quality")
LICENCES = (
    {"rightsUri": "https://creativecommons.org/licenses/by/4.0/", "rights": "CC BY 4.0"},
    {"rightsUri": "info:eu-repo/semantics/closedAccess"},
    {"rightsIdentifier": "CC0-1.0", "rightsIdentifierScheme": "SPDX"},
)


def synthetic_metadata(i: int) -> dict[str, Any]:
    """Deterministic metadata for record number ``i``; the tests derive expectations from it."""
    topic = TOPICS[i % len(TOPICS)]
    subjects = [{"subject": "Earth sciences"}]
    if i % 5 == 0:
        subjects.append({"subject": "Oceanography", "subjectScheme": "keyword"})
    if i % 7 == 0:
        subjects.append({"subject": "Climate change"})
    md: dict[str, Any] = {
        "identifiers": [{"identifier": f"10.1234/syn.{i}", "identifierType": "DOI"}],
        "creators": [
            {
                "name": f"Researcher{i % 13}, Alex",
                "nameType": "Personal",
                "affiliation": [{"name": "Example University"}],
            }
        ],
        "titles": [{"title": f"{topic} observations {i:04d}"}],
        "publisher": "Zenodo" if i % 2 else "PANGAEA",
        "types": {"resourceTypeGeneral": "Dataset" if i % 3 else "Software"},
        "subjects": subjects,
        "language": "en" if i % 4 else "de",
        "descriptions": [
            {
                "description": f"Measurements of {topic.lower()} in campaign {i}.",
                "descriptionType": "Abstract",
            }
        ],
    }
    if i % 10 != 9:
        md["publicationYear"] = 2000 + i % 20
    if i % 6 != 5:
        md["rightsList"] = [LICENCES[i % len(LICENCES)]]
    return md


def synthetic_items(count: int, start: int = 0) -> list[IncomingRecord]:
    return [
        IncomingRecord(source_id=f"rec-{i}", metadata=synthetic_metadata(i))
        for i in range(start, start + count)
    ]


def source_of(i: int) -> str:
    return SOURCES[i % len(SOURCES)]


def synthetic_record(i: int) -> Record:
    source = source_of(i)
    return Record(
        id=record_id(source, f"rec-{i}"),
        source=source,
        source_id=f"rec-{i}",
        metadata=synthetic_metadata(i),
        datestamp=datetime(2024, 1, 1) + timedelta(minutes=i),
    )


def fill_store(store: Any, count: int, start: int = 0) -> None:
    """Put records ``start .. start+count-1`` into the store, one page per source."""
    for source in SOURCES:
        if store.get_source(source) is None:
            store.add_source(source, "oai", f"https://{source}.example.org/oai")
        items = [
            item
            for n, item in enumerate(synthetic_items(count, start), start)
            if source_of(n) == source
        ]
        store.upsert_page(source, items)


def small_index(path: Path, *, writer: bool = True) -> TantivyIndex:
    return TantivyIndex(path, writer=writer, heap_size=15_000_000, threads=1)
