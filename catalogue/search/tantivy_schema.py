"""The tantivy schema of the embedded index and the conversion of search documents to it."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

import tantivy

from catalogue.search.base import FACETS, FOLDED_FACETS, FOLDED_FIELD, TEXT_FIELDS
from catalogue.search.sort_keys import (
    ID_PREFIX_FIELD,
    TITLE_PREFIX_FIELDS,
    embedded_sort_values,
    title_key,
)

# Bump whenever the schema below or the way documents are indexed changes.
# 2: identifier and facet_folded fields. 3: string sort keys ending with the record id
# (unique), id fast and stored (ties ordered by id). 4: integer keys back for the date sorts.
# 5: an integer title prefix key, the title key stored (deep title pages were ~1 s).
# 6: an integer record id prefix key (pages deep into a listing without a query were 0.3 s
# at page 499, 1.4 s past 50,000 of 100,000 records), the title key's bytes 8-14 as a second
# integer (a run of 2,400 titles alike in 7 bytes took 23 ms a page).
SCHEMA_VERSION = 6

# Exact-value fields behind the facets (tokenizer "raw", fast, multi-valued where needed).
RAW_FIELDS = tuple(field for field in FACETS.values() if field != "year")
_LIST_FIELDS = (*TEXT_FIELDS, *RAW_FIELDS, "identifier")
# The fast facet fields keep the spelling shown; FOLDED_FIELD the lower-case "facet=value".
_FOLDED_FIELDS = tuple((name, FACETS[name]) for name in FOLDED_FACETS)
assert all(field in _LIST_FIELDS for _, field in _FOLDED_FIELDS)


def build_schema() -> tantivy.Schema:
    """Fields: analysed text, raw fast facet fields, string sort keys, the stored record."""
    sb = tantivy.SchemaBuilder()
    # fast and stored: equal scores are ordered by record id, as the cluster backend does
    sb.add_text_field("id", tokenizer_name="raw", stored=True, fast=True, index_option="basic")
    for name in TEXT_FIELDS:
        sb.add_text_field(name, tokenizer_name="en_stem")
    for name in RAW_FIELDS:
        sb.add_text_field(name, tokenizer_name="raw", fast=True, index_option="basic")
    sb.add_text_field("identifier", tokenizer_name="raw", index_option="basic")
    sb.add_text_field(FOLDED_FIELD, tokenizer_name="raw", index_option="basic")
    sb.add_integer_field("year", indexed=True, fast=True)
    sb.add_integer_field("datestamp", indexed=True, fast=True)
    sb.add_integer_field("sort_newest", fast=True)
    sb.add_integer_field("sort_oldest", fast=True)
    for field in TITLE_PREFIX_FIELDS:
        sb.add_integer_field(field, fast=True)
    sb.add_integer_field(ID_PREFIX_FIELD, fast=True)
    sb.add_text_field(
        "sort_title", tokenizer_name="raw", stored=True, fast=True, index_option="basic"
    )
    sb.add_bytes_field("record", stored=True)
    return sb.build()


def tantivy_document(doc: Mapping[str, Any]) -> tantivy.Document:
    """The tantivy document of a search document (see ``documents.py``)."""
    values: dict[str, Any] = {"id": doc["id"]}
    for name in _LIST_FIELDS:
        value = doc.get(name)
        if value:  # as _as_list, inlined: the indexer's hottest loop
            strings = [value] if isinstance(value, str) else _as_list(value)
            if strings:
                values[name] = strings
    # every facet field is one of _LIST_FIELDS: its strings are in ``values`` already
    folded = [folded_term(facet, v) for facet, name in _FOLDED_FIELDS for v in values.get(name, ())]
    if folded:
        values[FOLDED_FIELD] = folded
    year = doc.get("year")
    if year is not None:
        values["year"] = year
    title = title_key(doc)
    values.update(embedded_sort_values(doc, title))
    values["sort_title"] = title
    values["record"] = doc["record"].encode()
    # one call with typed values: cheaper than an add_* call per value
    return tantivy.Document.from_dict(values, _schema())


def folded_term(facet: str, value: str) -> str:
    """The term of ``FOLDED_FIELD`` that stands for ``value`` of ``facet``."""
    return f"{facet}={value.lower()}"


@cache
def _schema() -> tantivy.Schema:
    return build_schema()


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value else []
    return [v for v in value if isinstance(v, str) and v]
