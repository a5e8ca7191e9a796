"""The query language of the search box and of ``q=``, parsed once for every backend.

What a researcher types, and what it means (backends translate :class:`ParsedQuery`; see
``NOTES`` in the README's search section):

- bare words: ranked by how many of them match; at least :func:`minimum_should_match`
  of them must (Solr/Elasticsearch ``minimum_should_match`` :data:`MM_SPEC`), so
  ``climate change`` finds records about either and ranks those with both first;
- ``+word``, ``"a phrase"``, ``field:value`` and pasted identifiers are required,
  ``-word`` / ``-"phrase"`` / ``-field:value`` excluded;
- a pasted DOI, Handle or URL (``https://doi.org/10.5281/zenodo.8406062``,
  ``doi:10.5281/...``, ``hdl:21.T11148/...``, ``10.5281/...``) finds the record with that
  identifier, compared by :func:`identifier_key`;
- facet fields (``type:dataset``, ``language:EN``) compare case-insensitively;
- a query with ``AND``/``OR``/``NOT``, parentheses, ranges (``year:[2000 TO 2004]``),
  boosts or fuzziness is *advanced*: the backend's own Lucene-style parser runs it with
  AND between terms (pasted identifiers in it are rewritten to ``identifier:"key"``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache
from itertools import combinations
from urllib.parse import unquote

from catalogue.search.base import FACETS, MAX_QUERY_LENGTH, TEXT_FIELDS, QuerySyntaxError
from mappings.normalize import normalize_doi

# Solr/Elasticsearch minimum_should_match for the bare words: one word alone or two words
# need one match; up to four words all but one; beyond four, 75% (rounded down).
MM_SPEC = "1<-1 4<75%"

# Fields a query may name. Analysed text fields match words; exact fields match whole values
# (facet fields case-insensitively); ``identifier`` compares identifier keys.
EXACT_FIELDS = (*FACETS, "id", "identifier")
FIELDS = (*TEXT_FIELDS, *EXACT_FIELDS)

MAX_CLAUSES = 64

_ADVANCED_WORDS = {"AND", "OR", "NOT", "&&", "||"}
_ADVANCED_CHARS = re.compile(r"[()\[\]{}^~]")
_COMPARISON = re.compile(r"[A-Za-z_][A-Za-z0-9_]*:[<>]")
# What may follow a phrase's closing quotation mark: a slop, a boost
_PHRASE_SUFFIX = re.compile(r"(?:~\d+)?(?:\^\d+(?:\.\d+)?)?")
_WORDY = re.compile(r"\w")
_DOI_BARE = re.compile(r"^10\.\d{4,9}(?:\.\d+)*/\S+$")
_IDENTIFIER_START = re.compile(
    r"^(?:https?://|ftp://|doi:|hdl:|info:doi/|urn:[a-z0-9-]+:|oai:[a-z0-9.-]+:|ark:/?\d|(?:dx\.)?doi\.org/"
    r"|hdl\.handle\.net/)",
    re.IGNORECASE,
)
_HANDLE_URL = re.compile(r"^(?:https?://)?hdl\.handle\.net/(?:api/handles/)?(\S+/\S+)$", re.I)
_HANDLE_PREFIX = re.compile(r"^hdl:\s*(\S+/\S+)$", re.IGNORECASE)
_URL = re.compile(r"^(?:https?|ftp)://(?:www\.)?(\S+?)/*$", re.IGNORECASE)
_FIELD = re.compile(r"^([A-Za-z_]+):(.*)$", re.DOTALL)
# trailing punctuation a pasted identifier picks up from a sentence
_TRAILING = ".,;)]}>\"'"


@dataclass(frozen=True)
class Words:
    """Analysed words in ``field`` (None: the default fields, title boosted, and ``text``).

    ``phrase``: the words in this order, adjacent; otherwise one word (which the analyser
    may still split, e.g. ``zenodo.8406062``: then its pieces as a phrase).
    """

    text: str
    field: str | None = None
    phrase: bool = False


@dataclass(frozen=True)
class Exact:
    """A whole value of an exact field; facet fields compare case-insensitively."""

    field: str
    value: str


@dataclass(frozen=True)
class Identifier:
    """A pasted identifier: records whose identifier has this key (or, ranked lower, whose
    text holds the key as a phrase)."""

    key: str
    text: str


Clause = Words | Exact | Identifier


@dataclass(frozen=True)
class ParsedQuery:
    """A parsed query: AND of ``must``, at least ``minimum_should_match`` of ``should``
    (the bare words), none of ``must_not``. ``advanced`` is set instead for a query in the
    backend's own Lucene syntax; ``match_all`` for an empty query or ``*``."""

    must: tuple[Clause, ...] = ()
    should: tuple[Words, ...] = ()
    must_not: tuple[Clause, ...] = ()
    advanced: str | None = None

    @property
    def match_all(self) -> bool:
        return not (self.must or self.should or self.must_not or self.advanced)

    @property
    def minimum_should_match(self) -> int:
        return minimum_should_match(len(self.should))

    @property
    def words(self) -> list[str]:
        """Every positive word of the query (for highlighting matches)."""
        found: list[str] = []
        for clause in (*self.must, *self.should):
            if isinstance(clause, Words):
                found += clause.text.split()
        if self.advanced:
            found += [w for w in re.findall(r"[\w.-]+", self.advanced) if w not in _ADVANCED_WORDS]
        return found


def minimum_should_match(n: int) -> int:
    """How many of ``n`` bare words must match under :data:`MM_SPEC`."""
    if n <= 1:
        return n
    if n <= 4:
        return n - 1
    return max(1, math.floor(n * 0.75))


def at_least(k: int, n: int, limit: int = 300) -> list[tuple[int, ...]] | None:
    """The index combinations that satisfy "at least k of n" (each a group of k), for a
    backend without a minimum-should-match of its own; None when there would be more than
    ``limit`` groups."""
    if k <= 1:
        return [(i,) for i in range(n)]
    if math.comb(n, k) > limit:
        return None
    return list(combinations(range(n), k))


def identifier_key(value: str) -> str | None:
    """The comparison key of an identifier: DOIs without resolver ('10.5281/zenodo.1'),
    Handles without proxy, URLs without scheme, 'www.' and trailing slashes; lower case.
    None for a value that is no identifier."""
    value = value.strip().rstrip(_TRAILING) if value else ""
    if not value:
        return None
    if doi := normalize_doi(value):
        return doi
    decoded = unquote(value)
    if m := _HANDLE_URL.match(decoded) or _HANDLE_PREFIX.match(decoded):
        return m.group(1).lower()
    if m := _URL.match(decoded):
        return m.group(1).lower()
    return decoded.lower()


def looks_like_identifier(token: str) -> bool:
    """A DOI, Handle, URL, URN or ARK as people paste them (not any word with a colon)."""
    token = token.rstrip(_TRAILING)
    return bool(_IDENTIFIER_START.match(token) or _DOI_BARE.match(token))


@lru_cache(maxsize=512)
def parse_query(q: str) -> ParsedQuery:
    """Parse a user query; QuerySyntaxError (a 400 for the API) with a readable reason.

    Cached: the argument check, the backend and the page all parse the same ``q`` (the
    result is immutable)."""
    q = q.strip()
    if len(q) > MAX_QUERY_LENGTH:
        raise QuerySyntaxError(f"the query is longer than {MAX_QUERY_LENGTH} characters")
    if "\x00" in q:
        raise QuerySyntaxError("the query contains a NUL character")
    if not q or q == "*":
        return ParsedQuery()
    tokens = _tokens(q)
    if _is_advanced(tokens):
        return ParsedQuery(advanced=_advanced(tokens))
    must: list[Clause] = []
    should: list[Words] = []
    must_not: list[Clause] = []
    for sign, token, quoted in tokens:
        clause = _clause(token, quoted)
        if clause is None:
            continue
        if sign == "-":
            must_not.append(clause)
        elif sign == "+" or not (isinstance(clause, Words) and not clause.phrase):
            must.append(clause)
        elif clause.field is None:
            should.append(clause)
        else:
            must.append(clause)
    if len(must) + len(should) + len(must_not) > MAX_CLAUSES:
        raise QuerySyntaxError(f"the query has more than {MAX_CLAUSES} terms")
    return ParsedQuery(tuple(must), tuple(should), tuple(must_not))


def _tokens(q: str) -> list[tuple[str, str, bool]]:
    """(sign, token, quoted) triples; quotes may follow a sign or a ``field:``."""
    out: list[tuple[str, str, bool]] = []
    i, n = 0, len(q)
    while i < n:
        if q[i].isspace():
            i += 1
            continue
        sign = ""
        if q[i] in "+-" and i + 1 < n and not q[i + 1].isspace():
            sign, i = q[i], i + 1
        start = i
        if q[i] == '"':
            end = q.find('"', i + 1)
            if end < 0:
                raise QuerySyntaxError("a quotation mark is not closed")
            i = _PHRASE_SUFFIX.match(q, end + 1).end()
            if i > end + 1:  # "a b"~3 or "a b"^2: the advanced syntax reads it whole
                out.append((sign, q[start:i], False))
            else:
                out.append((sign, q[start + 1 : end], True))
            continue
        while i < n and not q[i].isspace():
            if q[i] == '"' and i > start and q[i - 1] == ":":
                end = q.find('"', i + 1)
                if end < 0:
                    raise QuerySyntaxError("a quotation mark is not closed")
                i = _PHRASE_SUFFIX.match(q, end + 1).end()
                break
            i += 1
        out.append((sign, q[start:i], False))
    return out


def _is_advanced(tokens: list[tuple[str, str, bool]]) -> bool:
    for _, token, quoted in tokens:
        if quoted or looks_like_identifier(token):
            continue
        if token in _ADVANCED_WORDS or _ADVANCED_CHARS.search(_outside_quotes(token)):
            return True
        if _COMPARISON.match(token):  # year:>=2005 alone, as beside an AND
            return True
    return False


def _outside_quotes(token: str) -> str:
    """A token's text before its first and after its last quotation mark (``title:"a b"~2``
    gives ``title:`` and ``~2``): the syntax characters within a phrase are just text."""
    if '"' not in token:
        return token
    return token[: token.index('"')] + token[token.rindex('"') + 1 :]


def _advanced(tokens: list[tuple[str, str, bool]]) -> str:
    parts = []
    for sign, token, quoted in tokens:
        if quoted:
            parts.append(f'{sign}"{token}"')
        elif looks_like_identifier(token):
            key = identifier_key(token) or token
            parts.append(f'{sign}identifier:"{_escape(key)}"')
        else:
            parts.append(sign + token)
    return " ".join(parts)


def _clause(token: str, quoted: bool) -> Clause | None:
    if quoted:
        text = " ".join(token.split())
        return Words(text, phrase=True) if _WORDY.search(text) else None
    if looks_like_identifier(token):
        key = identifier_key(token)
        return Identifier(key, token) if key else None
    if m := _FIELD.match(token):
        field, value = m.group(1), m.group(2)
        if not value and field not in FIELDS:
            # a word ending a sentence part in a pasted title ("PocketCoffea: a layer for..."),
            # not a field: only "field:value" names one
            return Words(field)
        phrase = len(value) >= 2 and value.startswith('"') and value.endswith('"')
        value = " ".join((value[1:-1] if phrase else value).split())
        return _fielded(field, value, phrase)
    return Words(token) if _WORDY.search(token) else None


def _fielded(field: str, value: str, phrase: bool) -> Clause:
    if field not in FIELDS:
        raise QuerySyntaxError(
            f"there is no field {field!r}; fields are {', '.join(FIELDS)} "
            '(put text with a colon in "quotes")'
        )
    if not value:
        raise QuerySyntaxError(f"{field}: needs a value")
    if field in TEXT_FIELDS:
        return Words(value, field=field, phrase=phrase)
    if field == "year" and not re.fullmatch(r"-?[0-9]{1,4}", value):
        raise QuerySyntaxError("year: needs a year such as 2021 (a range: year:[2000 TO 2010])")
    if field == "identifier":
        return Identifier(identifier_key(value) or value.lower(), value)
    return Exact(field, value)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')
