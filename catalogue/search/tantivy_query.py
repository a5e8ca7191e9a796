"""A :class:`~catalogue.search.query.ParsedQuery` as a tantivy query.

An advanced query (AND/OR/NOT, parentheses, ranges, boosts, slop) is parsed by
:mod:`catalogue.search.query_syntax`, as for the cluster backend, and its tree built
here clause by clause: both backends give a query one meaning, and what people type is
never handed to tantivy's own query parser as syntax (only quoted words are, to be
analysed as the index analyses them).

tantivy has no minimum-should-match: "at least k of n words" is the disjunction of every
group of k words (``query.at_least``), as a constant-score filter, plus each word as an
optional clause for the score; when there would be too many groups (a long pasted
sentence), the closest smaller k that stays within bounds is used.
"""

from __future__ import annotations

import re
from typing import Any

import tantivy

from catalogue.search import query_syntax as qs
from catalogue.search.base import FACETS, FOLDED_FIELD, QuerySyntaxError
from catalogue.search.query import (
    Clause,
    Exact,
    Identifier,
    ParsedQuery,
    Words,
    at_least,
    parse_query,
)
from catalogue.search.tantivy_schema import folded_term

DEFAULT_FIELDS = ["title", "text"]
FIELD_BOOSTS = {"title": 2.0}
# the bare words as one phrase rank records that have them together first
PHRASE_BOOST = 2.0
IDENTIFIER_BOOST = 10.0


class QueryBuilder:
    """Builds tantivy queries for one index (its schema and its query parser)."""

    def __init__(self, index: tantivy.Index, schema: tantivy.Schema) -> None:
        self._index = index
        self._schema = schema

    def build(self, q: str) -> tantivy.Query:
        parsed = parse_query(q)
        if parsed.match_all:
            return tantivy.Query.all_query()
        if parsed.advanced is not None:
            return self._tree(qs.parse(parsed.advanced)) or tantivy.Query.empty_query()
        clauses: list[tuple[Any, tantivy.Query]] = []
        clauses += [(tantivy.Occur.Must, self._clause(c)) for c in parsed.must]
        clauses += [(tantivy.Occur.MustNot, self._clause(c)) for c in parsed.must_not]
        if parsed.should:
            clauses += self._bare_words(parsed)
        if not any(occur == tantivy.Occur.Must for occur, _ in clauses):
            clauses.append((tantivy.Occur.Must, tantivy.Query.all_query()))
        return tantivy.Query.boolean_query(clauses)

    def filter(self, facet: str, values: list[str]) -> tantivy.Query:
        """Any of ``values`` of ``facet`` (OR within a facet), case-insensitively."""
        if FACETS[facet] == "year":
            years = [int(v) for v in values if _is_int(v)]
            if not years:
                return tantivy.Query.empty_query()
            return tantivy.Query.term_set_query(self._schema, "year", years)
        terms = list(dict.fromkeys(folded_term(facet, v) for v in values))
        return tantivy.Query.term_set_query(self._schema, FOLDED_FIELD, terms)

    def _bare_words(self, parsed: ParsedQuery) -> list[tuple[Any, tantivy.Query]]:
        words = [self._clause(w) for w in parsed.should]
        n, k = len(words), parsed.minimum_should_match
        groups = at_least(k, n)
        while groups is None:
            k -= 1
            groups = at_least(k, n)
        out: list[tuple[Any, tantivy.Query]] = [(tantivy.Occur.Should, w) for w in words]
        if k == n:
            out += [(tantivy.Occur.Must, w) for w in words]
        elif k > 1:
            either = tantivy.Query.boolean_query(
                [(tantivy.Occur.Should, all_of([words[i] for i in group])) for group in groups]
            )
            out.append((tantivy.Occur.Must, tantivy.Query.const_score_query(either, 0.0)))
        else:
            out.append(
                (
                    tantivy.Occur.Must,
                    tantivy.Query.const_score_query(
                        tantivy.Query.boolean_query([(tantivy.Occur.Should, w) for w in words]),
                        0.0,
                    ),
                )
            )
        if n > 1:
            phrase = " ".join(w.text for w in parsed.should)
            out.append((tantivy.Occur.Should, self._words(phrase, None, True, PHRASE_BOOST)))
        return out

    def _clause(self, clause: Clause) -> tantivy.Query:
        if isinstance(clause, Words):
            return self._words(clause.text, clause.field, clause.phrase)
        if isinstance(clause, Identifier):
            exact = tantivy.Query.term_query(self._schema, "identifier", clause.key)
            return tantivy.Query.boolean_query(
                [
                    (tantivy.Occur.Should, tantivy.Query.boost_query(exact, IDENTIFIER_BOOST)),
                    (tantivy.Occur.Should, self._words(clause.key, "text", True)),
                ]
            )
        return self._exact(clause)

    def _exact(self, clause: Exact) -> tantivy.Query:
        if clause.field in FACETS:
            return self.filter(clause.field, [clause.value])
        return tantivy.Query.term_query(self._schema, clause.field, clause.value)

    def _words(
        self, text: str, field: str | None, phrase: bool, boost: float = 1.0, slop: int = 0
    ) -> tantivy.Query:
        # quoted, so that the parser's syntax characters in a word are just text
        escaped = text.replace("\\", " ").replace('"', " ")
        fields = [field] if field else DEFAULT_FIELDS
        boosts = {f: b * boost for f, b in FIELD_BOOSTS.items() if f in fields}
        if boost != 1.0:
            boosts.update({f: boost for f in fields if f not in boosts})
        try:
            quoted = f'"{escaped}"~{slop}' if slop else f'"{escaped}"'
            query = self._index.parse_query(quoted, fields, field_boosts=boosts)
        except ValueError as exc:
            raise QuerySyntaxError(f"cannot search for {text!r}: {exc}") from exc
        del phrase  # a quoted text is a phrase already; one word stays a term
        return query

    def _tree(self, node: qs.Node) -> tantivy.Query | None:
        """The tantivy query of a query_syntax tree (as ``cluster_query.translate``
        builds query DSL); None for a clause with no words (it is dropped)."""
        if isinstance(node, qs.MatchAll):
            return tantivy.Query.all_query()
        if isinstance(node, qs.Exists):
            return self._exists(node.field)
        if isinstance(node, qs.Range):
            return self._range(node)
        if isinstance(node, qs.Text):
            if node.field in qs.KEYWORD_FIELDS:
                if node.field in FACETS:  # case-insensitive, as a facet filter
                    return self.filter(node.field, [node.text])
                return tantivy.Query.term_query(self._schema, node.field, node.text)
            if not qs.tokens(node.text):
                return None  # nothing the analyser keeps
            return self._words(node.text, node.field, True, slop=node.slop)
        if isinstance(node, qs.Boost):
            inner = self._tree(node.node)
            return None if inner is None else tantivy.Query.boost_query(inner, node.factor)
        if isinstance(node, qs.Bool):
            occurs = {
                "must": tantivy.Occur.Must,
                "should": tantivy.Occur.Should,
                "must_not": tantivy.Occur.MustNot,
            }
            clauses = [
                (occurs[occur], query)
                for occur, child in node.clauses
                if (query := self._tree(child)) is not None
            ]
            if not any(occur != tantivy.Occur.MustNot for occur, _ in clauses):
                return tantivy.Query.empty_query()
            # only optional clauses left: tantivy then needs one of them, as the cluster's
            # minimum_should_match 1
            return tantivy.Query.boolean_query(clauses)
        raise TypeError(f"unknown query node {node!r}")

    def _exists(self, field: str) -> tantivy.Query:
        """Records with any value in ``field`` (``title:*``), as the cluster's ``exists``:
        tantivy's exists query reads fast fields only, so a text field is asked for any
        term it holds."""
        if field in qs.INTEGER_FIELDS:
            return tantivy.Query.exists_query(field)
        return tantivy.Query.regex_query(self._schema, field, ".+")

    def _range(self, node: qs.Range) -> tantivy.Query:
        if node.lower is None and node.upper is None:
            return self._exists(node.field)
        if node.field in qs.INTEGER_FIELDS:
            return tantivy.Query.range_query(
                self._schema,
                node.field,
                tantivy.FieldType.Integer,
                None if node.lower is None else int(node.lower),
                None if node.upper is None else int(node.upper),
                node.include_lower or node.lower is None,
                node.include_upper or node.upper is None,
            )
        # an exact (raw) field: tantivy builds string ranges through its parser only, so
        # the bounds must be plain words there
        for bound in (node.lower, node.upper):
            if bound is not None and not _PLAIN_BOUND.fullmatch(bound):
                raise QuerySyntaxError(
                    f"a range bound of {node.field} is a plain word, not {bound!r}"
                )
        low = "*" if node.lower is None else node.lower
        high = "*" if node.upper is None else node.upper
        opening = "[" if node.include_lower else "{"
        closing = "]" if node.include_upper else "}"
        return self._index.parse_query(f"{node.field}:{opening}{low} TO {high}{closing}", [])


_PLAIN_BOUND = re.compile(r"[\w.:/@-]+")


def all_of(queries: list[tantivy.Query]) -> tantivy.Query:
    if len(queries) == 1:
        return queries[0]
    return tantivy.Query.boolean_query([(tantivy.Occur.Must, q) for q in queries])


def _is_int(value: str) -> bool:
    try:
        int(value)
    except (TypeError, ValueError):
        return False
    return True
