"""SearchQuery -> Elasticsearch/OpenSearch request body, and the response -> SearchResult.

Pure functions shared by both transports. The semantics are the embedded backend's:
disjunctive facets (a facet's counts ignore its own filter, so values OR within a facet)
with the selected values always listed, buckets ordered by count then key, sorts by the
shared sort keys (unique: they end with the record id), relevance as score then id.
"""

from __future__ import annotations

from typing import Any

from catalogue import fastjson
from catalogue.search import query_syntax as qs
from catalogue.search.base import (
    FACET_SIZE,
    FACETS,
    FOLDED_FIELD,
    QuerySyntaxError,
    SearchQuery,
    SearchResult,
    sorted_buckets,
)
from catalogue.search.query import (
    MM_SPEC,
    Clause,
    Exact,
    Identifier,
    ParsedQuery,
    Words,
    parse_query,
)
from catalogue.search.sort_keys import SORT_FIELDS
from catalogue.search.tantivy_schema import folded_term

# As the embedded backend ranks (tantivy_query.py): the bare words as one phrase, and an
# exact identifier match far above a mention of it in the text.
PHRASE_BOOST = 2.0
IDENTIFIER_BOOST = 10.0
# Buckets asked beyond FACET_SIZE, as the embedded backend does, so both cut the same ties.
FACET_SLACK = 20
MATCH_NONE: dict[str, Any] = {"bool": {"must_not": [{"match_all": {}}]}}
HIGHLIGHT: dict[str, Any] = {
    "pre_tags": ["<mark>"],
    "post_tags": ["</mark>"],
    "encoder": "html",
    "require_field_match": False,
    "fields": {
        "title": {"number_of_fragments": 0},
        "description": {"fragment_size": 200, "number_of_fragments": 1},
    },
}


def translate(node: qs.Node) -> dict[str, Any] | None:
    """Query DSL of a parsed query; None for a clause with no words (it is dropped)."""
    if isinstance(node, qs.MatchAll):
        return {"match_all": {}}
    if isinstance(node, qs.Exists):
        return {"exists": {"field": node.field}}
    if isinstance(node, qs.Range):
        bounds: dict[str, Any] = {}
        if node.lower is not None:
            bounds["gte" if node.include_lower else "gt"] = _value(node.field, node.lower)
        if node.upper is not None:
            bounds["lte" if node.include_upper else "lt"] = _value(node.field, node.upper)
        if node.lower is not None and node.lower == node.upper and bounds.keys() == {"gte", "lte"}:
            return {"term": {node.field: bounds["gte"]}}
        return {"range": {node.field: bounds}} if bounds else {"exists": {"field": node.field}}
    if isinstance(node, qs.Text):
        return _text(node)
    if isinstance(node, qs.Boost):
        inner = translate(node.node)
        if inner is None:
            return None
        return {"bool": {"must": [inner], "boost": node.factor}}
    if isinstance(node, qs.Bool):
        return _bool(node)
    raise TypeError(f"unknown query node {node!r}")


def _text(node: qs.Text) -> dict[str, Any] | None:
    if node.field in qs.KEYWORD_FIELDS:
        if node.field in FACETS:  # case-insensitive, as a facet filter
            return filter_clause(node.field, [node.text])
        return {"term": {node.field: node.text}}
    if not qs.tokens(node.text):
        return None  # nothing the analyser keeps: tantivy drops such a clause too
    if node.field is None:
        fields = [f"{name}^{boost:g}" for name, boost in qs.DEFAULT_FIELDS.items()]
        return {
            "multi_match": {
                "query": node.text,
                "type": "phrase",
                "fields": fields,
                "slop": node.slop,
            }
        }
    return {"match_phrase": {node.field: {"query": node.text, "slop": node.slop}}}


def _bool(node: qs.Bool) -> dict[str, Any]:
    parts: dict[str, list[dict[str, Any]]] = {"must": [], "should": [], "must_not": []}
    for occur, child in node.clauses:
        translated = translate(child)
        if translated is not None:
            parts[occur].append(translated)
    if not parts["must"] and not parts["should"]:
        return MATCH_NONE
    body: dict[str, Any] = {key: value for key, value in parts.items() if value}
    if not parts["must"]:
        body["minimum_should_match"] = 1
    return {"bool": body}


def _value(field: str, raw: str) -> Any:
    return int(raw) if field in qs.INTEGER_FIELDS else raw


def main_query(q: str) -> dict[str, Any]:
    """The query DSL of what the user typed (``query.py``'s semantics)."""
    parsed = parse_query(q)
    if parsed.match_all:
        return {"match_all": {}}
    if parsed.advanced is not None:
        return translate(qs.parse(parsed.advanced)) or MATCH_NONE
    return _parsed(parsed)


def _parsed(parsed: ParsedQuery) -> dict[str, Any]:
    must = [_clause(c) for c in parsed.must]
    should: list[dict[str, Any]] = []
    if parsed.should:
        words = [_clause(w) for w in parsed.should]
        must.append({"bool": {"should": words, "minimum_should_match": MM_SPEC}})
        if len(words) > 1:
            phrase = Words(" ".join(w.text for w in parsed.should), phrase=True)
            should.append(_words(phrase, PHRASE_BOOST))
    body: dict[str, Any] = {"must": must or [{"match_all": {}}]}
    if should:
        body["should"] = should
    if parsed.must_not:
        body["must_not"] = [_clause(c) for c in parsed.must_not]
    return {"bool": body}


def _clause(clause: Clause) -> dict[str, Any]:
    if isinstance(clause, Words):
        return _words(clause)
    if isinstance(clause, Identifier):
        exact = {"term": {"identifier": {"value": clause.key, "boost": IDENTIFIER_BOOST}}}
        mention = {"match_phrase": {"text": clause.key}}
        return {"bool": {"should": [exact, mention], "minimum_should_match": 1}}
    if isinstance(clause, Exact) and clause.field in FACETS:
        return filter_clause(clause.field, [clause.value])
    return {"term": {clause.field: clause.value}}


def _words(clause: Words, boost: float = 1.0) -> dict[str, Any]:
    """Words as a phrase of their tokens (one token: a term), as the embedded backend."""
    if clause.field is None:
        fields = [f"{name}^{b * boost:g}" for name, b in qs.DEFAULT_FIELDS.items()]
        return {"multi_match": {"query": clause.text, "type": "phrase", "fields": fields}}
    return {"match_phrase": {clause.field: {"query": clause.text, "boost": boost}}}


def filter_clause(name: str, values: tuple[str, ...] | list[str]) -> dict[str, Any]:
    """Any of ``values`` of facet ``name``, case-insensitively."""
    if FACETS[name] == "year":
        years = [int(v) for v in values if _is_int(v)]
        return {"terms": {"year": years}} if years else MATCH_NONE
    terms = list(dict.fromkeys(folded_term(name, v) for v in values))
    return {"terms": {FOLDED_FIELD: terms}} if terms else MATCH_NONE


def search_body(query: SearchQuery) -> dict[str, Any]:
    """The request body of ``query`` (hits, total, facets, sort, highlights, paging)."""
    main = main_query(query.q)
    filters = {name: filter_clause(name, values) for name, values in query.filters.items()}
    spec = SORT_FIELDS[query.sort]
    if spec is None:
        sort: list[Any] = [{"_score": {"order": "desc"}}, {"id": {"order": "asc"}}]
    else:
        field, descending = spec
        sort = [{field: {"order": "desc" if descending else "asc"}}]
    body: dict[str, Any] = {
        "query": main,
        "size": query.size,
        "track_total_hits": True,
        "_source": ["record"],
        "sort": sort,
    }
    if query.after is not None:
        if len(query.after) != len(sort):
            raise QuerySyntaxError("this cursor belongs to another sort or backend")
        body["search_after"] = list(query.after)
    elif query.offset:
        body["from"] = query.offset
    if filters:
        body["post_filter"] = _all_of(list(filters.values()))
    if query.facets:
        body["aggs"] = _facet_aggs(query, filters)
    if query.q.strip(" *") and query.size:
        body["highlight"] = HIGHLIGHT
    return body


def _facet_aggs(query: SearchQuery, filters: dict[str, dict[str, Any]]) -> dict[str, Any]:
    def terms(name: str) -> dict[str, Any]:
        return {"terms": {"field": FACETS[name], "size": FACET_SIZE + FACET_SLACK}}

    aggs: dict[str, Any] = {}
    unselected = {name: terms(name) for name in FACETS if name not in filters}
    if unselected and filters:
        aggs["unselected"] = {"filter": _all_of(list(filters.values())), "aggs": unselected}
    else:
        aggs.update(unselected)
    for name in filters:
        others = [clause for other, clause in filters.items() if other != name]
        values = list(dict.fromkeys(query.filters[name]))
        selected = {str(i): filter_clause(name, [value]) for i, value in enumerate(values)}
        aggs[f"selected_{name}"] = {
            "filter": _all_of(others),
            "aggs": {"top": terms(name), "values": {"filters": {"filters": selected}}},
        }
    return aggs


def _all_of(clauses: list[dict[str, Any]]) -> dict[str, Any]:
    if not clauses:
        return {"match_all": {}}
    if len(clauses) == 1:
        return clauses[0]
    return {"bool": {"filter": clauses}}


def parse_response(query: SearchQuery, response: dict[str, Any]) -> SearchResult:
    hits_part = response.get("hits", {})
    raw_hits = hits_part.get("hits", [])
    total = hits_part.get("total", 0)
    total = int(total["value"] if isinstance(total, dict) else total)
    hits = [fastjson.loads(hit["_source"]["record"]) for hit in raw_hits]
    highlights = {
        hit["_id"]: {field: list(frags) for field, frags in hit["highlight"].items()}
        for hit in raw_hits
        if hit.get("highlight")
    }
    cursor = None
    if raw_hits and len(raw_hits) == query.size:
        seen = (0 if query.after is not None else query.offset) + len(raw_hits)
        if query.after is not None or seen < total:
            cursor = tuple(raw_hits[-1]["sort"])
    aggregations = _facets(query, response.get("aggregations", {})) if query.facets else {}
    return SearchResult(total, hits, aggregations, cursor=cursor, highlights=highlights)


def _facets(query: SearchQuery, aggs: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    unselected = aggs.get("unselected", aggs)
    for name in FACETS:
        if name not in query.filters:
            out[name] = _buckets(unselected.get(name, {}))
            continue
        part = aggs.get(f"selected_{name}", {})
        buckets = _buckets(part.get("top", {}))
        # filter values match case-insensitively: "dataset" selects the "Dataset" bucket
        seen = {b["key"].lower() for b in buckets}
        counts = part.get("values", {}).get("buckets", {})
        for i, value in enumerate(dict.fromkeys(query.filters[name])):
            if value.lower() not in seen:
                count = int(counts.get(str(i), {}).get("doc_count", 0))
                buckets.append({"key": value, "count": count})
                seen.add(value.lower())
        out[name] = sorted_buckets(buckets)
    return out


def _buckets(agg: dict[str, Any]) -> list[dict[str, Any]]:
    buckets = [
        {"key": _key(b["key"]), "count": int(b["doc_count"])} for b in agg.get("buckets", [])
    ]
    return sorted_buckets(buckets)[:FACET_SIZE]


def _key(key: Any) -> str:
    if isinstance(key, float) and key.is_integer():
        key = int(key)
    return str(key)


def _is_int(value: str) -> bool:
    try:
        int(value)
    except (TypeError, ValueError):
        return False
    return True
