"""The *advanced* query language (``ParsedQuery.advanced`` of ``query.py``) as a tree.

``query.py`` parses what people type; a query with AND/OR/NOT, parentheses, ranges, boosts
or ``~`` is handed on as "advanced" and parsed here, for both backends: the embedded one
builds tantivy queries of the tree (``tantivy_query.py``), the cluster one query DSL
(``cluster_query.py``). The language: words and "phrases"
(with ``~slop``), ``field:value``, ranges ``year:[2000 TO 2010]`` / ``year:>=2005``,
``AND`` / ``OR`` / ``NOT``, ``+`` / ``-`` prefixes, parentheses and ``^boost``. Clauses side
by side must all match; ``a OR b`` makes its operands optional clauses of the enclosing
group, as tantivy flattens them (so a group of only optional clauses needs one of them).

The cluster backend turns the tree into query DSL (``cluster_query.py``): user input only
ever becomes the *values* of term, phrase and range queries, never query DSL or a query
string that the engine would parse.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from catalogue.search.base import MAX_QUERY_LENGTH, MAX_QUERY_NESTING, TEXT_FIELDS, QuerySyntaxError

# Fields a query may name, by how their values are matched.
KEYWORD_FIELDS = (
    "id",
    "identifier",
    "source",
    "type",
    "subject",
    "language",
    "publisher",
    "rights",
    "access",
)
INTEGER_FIELDS = ("year", "datestamp")
# Fields searched by words and phrases without a field, with their boosts.
DEFAULT_FIELDS = {"title": 2.0, "text": 1.0}

Occur = Literal["must", "should", "must_not"]


@dataclass(frozen=True)
class Text:
    """Words of one term or phrase; several tokens form a phrase (as in tantivy)."""

    field: str | None  # None: the default fields
    text: str
    slop: int = 0


@dataclass(frozen=True)
class Range:
    field: str
    lower: str | None
    upper: str | None
    include_lower: bool = True
    include_upper: bool = True


@dataclass(frozen=True)
class Exists:
    field: str


@dataclass(frozen=True)
class MatchAll:
    pass


@dataclass(frozen=True)
class Boost:
    node: Node
    factor: float


@dataclass(frozen=True)
class Bool:
    clauses: tuple[tuple[Occur, Node], ...]


Node = Text | Range | Exists | MatchAll | Boost | Bool

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<lparen>\() | (?P<rparen>\)) |
        (?P<phrase>"(?:[^"\\]|\\.)*"(?:~(?P<slop>\d+))?) |
        (?P<unterminated>"[^"]*$) |
        (?P<range>[\[{][^\]}]*[\]}]) |
        (?P<boost>\^(?P<factor>\d+(?:\.\d+)?)) |
        (?P<word>[^\s()"^\[\]{}]+)
    )""",
    re.VERBOSE,
)
_FIELD = re.compile(r"([A-Za-z_][A-Za-z0-9_]*):(.*)", re.DOTALL)
_COMPARISON = re.compile(r"(>=|<=|>|<)(.+)", re.DOTALL)
_RANGE = re.compile(r"([\[{])\s*(\S+)\s+TO\s+(\S+)\s*([\]}])")
_ANALYSED_TOKEN = re.compile(r"[^\W_]+")
# tantivy drops tokens of this many bytes and more (RemoveLongFilter(40))
MAX_TOKEN_BYTES = 40


def tokens(text: str) -> list[str]:
    """The words the text analyser keeps (before stemming): alphanumeric runs, lowercased."""
    return [t for t in _ANALYSED_TOKEN.findall(text.lower()) if len(t.encode()) < MAX_TOKEN_BYTES]


def parse(q: str) -> Node:
    """The tree of query ``q``; QuerySyntaxError (the API's 400) when it is not acceptable."""
    q = q.strip()
    if not q or q == "*":
        return MatchAll()
    if len(q) > MAX_QUERY_LENGTH:
        raise QuerySyntaxError(f"query longer than {MAX_QUERY_LENGTH} characters")
    lexemes = _lex(q)
    parser = _Parser(lexemes)
    node = parser.group(depth=0)
    if parser.pos != len(lexemes):
        raise QuerySyntaxError("unbalanced parentheses")
    return node


def _lex(q: str) -> list[tuple[str, str, str | None]]:
    out: list[tuple[str, str, str | None]] = []
    pos = 0
    while pos < len(q):
        match = _TOKEN.match(q, pos)
        if match is None or match.end() == pos:
            if q[pos:].strip() == "":
                break
            raise QuerySyntaxError(f"cannot parse the query at {q[pos : pos + 20]!r}")
        pos = match.end()
        kind = match.lastgroup
        if kind in ("slop", "factor"):
            kind = "phrase" if match.group("phrase") else "boost"
        if kind == "unterminated":
            raise QuerySyntaxError('unterminated phrase (a " without its closing ")')
        value = match.group(kind)
        extra = match.group("slop") if kind == "phrase" else match.group("factor")
        out.append((kind, value, extra))
    return out


class _Parser:
    def __init__(self, lexemes: list[tuple[str, str, str | None]]) -> None:
        self.lexemes = lexemes
        self.pos = 0

    def peek(self) -> tuple[str, str, str | None] | None:
        return self.lexemes[self.pos] if self.pos < len(self.lexemes) else None

    def group(self, depth: int) -> Node:
        """Clauses up to the end or a closing parenthesis; OR-runs flatten into them."""
        if depth > MAX_QUERY_NESTING:
            raise QuerySyntaxError(f"query nests parentheses deeper than {MAX_QUERY_NESTING}")
        clauses: list[tuple[Occur, Node]] = []
        while (item := self.peek()) is not None and item[0] != "rparen":
            run = self.or_run(depth)
            if len(run) == 1:
                clauses.append(run[0])
            else:
                clauses.extend(("should", node) for occur, node in run if occur != "must_not")
                clauses.extend(pair for pair in run if pair[0] == "must_not")
        return _combine(clauses)

    def or_run(self, depth: int) -> list[tuple[Occur, Node]]:
        """``x OR y AND z OR ...``: AND binds tighter than OR."""
        run = [self.and_run(depth)]
        while (item := self.peek()) is not None and item[1] in ("OR", "||"):
            self.pos += 1
            run.append(self.and_run(depth))
        return run

    def and_run(self, depth: int) -> tuple[Occur, Node]:
        first = self.clause(depth)
        parts = [first]
        while (item := self.peek()) is not None and item[1] in ("AND", "&&"):
            self.pos += 1
            parts.append(self.clause(depth))
        if len(parts) == 1:
            return first
        return ("must", _combine([(o if o == "must_not" else "must", n) for o, n in parts]))

    def clause(self, depth: int) -> tuple[Occur, Node]:
        item = self.peek()
        if item is None or item[0] == "rparen" or item[1] in ("AND", "OR", "&&", "||"):
            raise QuerySyntaxError("an operator needs a term on each side")
        occur: Occur = "must"
        if item[0] == "word" and item[1] == "NOT":
            self.pos += 1
            occur = "must_not"
        elif item[0] == "word" and item[1][0] in "+-" and len(item[1]) > 1:
            occur = "must" if item[1][0] == "+" else "must_not"
            self.lexemes[self.pos] = ("word", item[1][1:], None)
        elif item[0] == "word" and item[1] in "+-" and self.pos + 1 < len(self.lexemes):
            occur = "must" if item[1] == "+" else "must_not"
            self.pos += 1
        node = self.atom(depth, None)
        boost = self.peek()
        if boost is not None and boost[0] == "boost":
            self.pos += 1
            node = Boost(node, float(boost[2] or 1))
        return occur, node

    def atom(self, depth: int, field: str | None) -> Node:
        item = self.peek()
        if item is None:
            raise QuerySyntaxError("the query ends where a term is expected")
        kind, value, extra = item
        self.pos += 1
        if kind == "lparen":
            node = self.group(depth + 1)
            closing = self.peek()
            if closing is None or closing[0] != "rparen":
                raise QuerySyntaxError("unbalanced parentheses")
            self.pos += 1
            if field is not None:
                return _with_field(node, field)
            return node
        if kind == "phrase":
            text = re.sub(r"\\(.)", r"\1", value[1 : value.rindex('"')])
            return _text(field, text, int(extra or 0))
        if kind == "range":
            if field is None:
                raise QuerySyntaxError("a range needs a field, e.g. year:[2000 TO 2010]")
            return _range(field, value)
        if kind in ("rparen", "boost"):
            raise QuerySyntaxError(f"unexpected {value!r}")
        if field is None and (named := _FIELD.fullmatch(value)):
            name, rest = named.groups()
            _check_field(name)
            if rest:
                self.lexemes.insert(self.pos, ("word", rest, None))
            return self.atom(depth, name)
        if field is not None and (cmp := _COMPARISON.fullmatch(value)):
            op, bound = cmp.groups()
            lower, upper = (bound, None) if op[0] == ">" else (None, bound)
            return _checked_range(Range(field, lower, upper, op != ">", op != "<"))
        if value == "*":
            return MatchAll() if field is None else Exists(field)
        return _text(field, value, 0)


def _combine(clauses: list[tuple[Occur, Node]]) -> Node:
    if not clauses:
        raise QuerySyntaxError("empty group")
    if all(occur == "must_not" for occur, _ in clauses):
        raise QuerySyntaxError("only excluding terms given; add a term to search for")
    if len(clauses) == 1 and clauses[0][0] == "must":
        return clauses[0][1]
    return Bool(tuple(clauses))


def _with_field(node: Node, field: str) -> Node:
    """``title:(a b)``: the group's default-field terms search ``field`` instead."""
    if isinstance(node, Text) and node.field is None:
        return _text(field, node.text, node.slop)
    if isinstance(node, Boost):
        return Boost(_with_field(node.node, field), node.factor)
    if isinstance(node, Bool):
        return Bool(tuple((occur, _with_field(child, field)) for occur, child in node.clauses))
    return node


def _check_field(name: str) -> None:
    if name not in TEXT_FIELDS + KEYWORD_FIELDS + INTEGER_FIELDS:
        raise QuerySyntaxError(f"Field does not exist: {name!r}")


def _text(field: str | None, text: str, slop: int) -> Node:
    if field in INTEGER_FIELDS:
        return _checked_range(Range(field, text, text))
    return Text(field, text, slop)


def _range(field: str, value: str) -> Node:
    match = _RANGE.fullmatch(value)
    if match is None:
        raise QuerySyntaxError("a range reads [low TO high] (* for an open end)")
    opening, low, high, closing = match.groups()
    return _checked_range(
        Range(
            field,
            None if low == "*" else low,
            None if high == "*" else high,
            opening == "[",
            closing == "]",
        )
    )


def _checked_range(node: Range) -> Range:
    if node.field in INTEGER_FIELDS:
        for bound in (node.lower, node.upper):
            if bound is not None and not re.fullmatch(r"-?\d{1,18}", bound):
                raise QuerySyntaxError(f"{node.field} takes integers, not {bound!r}")
    elif node.field in TEXT_FIELDS:
        raise QuerySyntaxError(f"ranges work on year, datestamp and exact fields, not {node.field}")
    return node
