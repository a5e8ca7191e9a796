"""The one mapping of the cluster backends (Elasticsearch and OpenSearch alike).

Text is analysed as the embedded index analyses it (tantivy's ``en_stem``: alphanumeric
runs, tokens of 40 bytes and more dropped, lowercased, Snowball English stemming), so a
query matches the same records in both backends. Facet fields are exact keywords, sort
keys are the shared strings of ``sort_keys.py``, and the stored record rides in
``_source`` unindexed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from catalogue.search.base import FACETS, FOLDED_FACETS, FOLDED_FIELD, TEXT_FIELDS
from catalogue.search.sort_keys import SORT_FIELDS, epoch_seconds, sort_keys
from catalogue.search.tantivy_schema import folded_term

# Bump whenever the mapping, the analysis or the document shape below changes: indexes are
# named <alias>-v<MAPPING_VERSION>-<timestamp>, and an alias pointing at an index of another
# version asks for `catalogue reindex`.
MAPPING_VERSION = 1

KEYWORD_FIELDS = ("id", "identifier", *(field for field in FACETS.values() if field != "year"))
SORT_KEY_FIELDS = tuple(sorted({spec[0] for spec in SORT_FIELDS.values() if spec}))

ANALYSIS: dict[str, Any] = {
    "tokenizer": {
        # the tokens are the matches (group 0): runs of letters and digits
        "catalogue_alnum": {"type": "pattern", "pattern": "[\\p{L}\\p{N}]+", "group": 0}
    },
    "filter": {
        "catalogue_long": {"type": "length", "min": 0, "max": 39},
        "catalogue_stem": {"type": "stemmer", "language": "porter2"},
    },
    "analyzer": {
        "catalogue_text": {
            "type": "custom",
            "tokenizer": "catalogue_alnum",
            "filter": ["catalogue_long", "lowercase", "catalogue_stem"],
        }
    },
}


def mappings() -> dict[str, Any]:
    properties: dict[str, Any] = {
        name: {"type": "text", "analyzer": "catalogue_text"} for name in TEXT_FIELDS
    }
    properties.update({name: {"type": "keyword"} for name in KEYWORD_FIELDS})
    properties.update({name: {"type": "keyword"} for name in SORT_KEY_FIELDS})
    properties[FOLDED_FIELD] = {"type": "keyword"}
    properties["year"] = {"type": "integer"}
    properties["datestamp"] = {"type": "long"}
    properties["record"] = {"type": "keyword", "index": False, "doc_values": False}
    return {"dynamic": "strict", "properties": properties}


def index_template(alias: str, *, shards: int = 1, replicas: int = 0) -> dict[str, Any]:
    """The composable index template every index of this mapping version is created from."""
    return {
        "index_patterns": [f"{alias}-v{MAPPING_VERSION}-*"],
        "template": {
            "settings": {
                "number_of_shards": shards,
                "number_of_replicas": replicas,
                "analysis": ANALYSIS,
            },
            "mappings": mappings(),
        },
        "_meta": {"catalogue_mapping_version": MAPPING_VERSION},
    }


def cluster_document(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The _source of a search document (see ``documents.py``)."""
    out: dict[str, Any] = {name: doc.get(name) for name in (*TEXT_FIELDS, *KEYWORD_FIELDS)}
    out[FOLDED_FIELD] = [
        folded_term(name, value)
        for name in FOLDED_FACETS
        for value in _as_list(doc.get(FACETS[name]))
    ]
    out["year"] = doc.get("year")
    out["datestamp"] = epoch_seconds(doc.get("datestamp"))
    out.update(sort_keys(doc))
    out["record"] = doc["record"]
    return out


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value else []
    return [v for v in value if isinstance(v, str) and v]
