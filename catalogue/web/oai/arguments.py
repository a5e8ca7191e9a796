"""Request arguments of the six verbs, validated into frozen dataclasses before any I/O.

Anything that fails here is answered with badVerb or badArgument, whose responses echo no
argument (so a hostile value never reaches the response). Values that pass are safe to
echo: they match the XML Schema types of the ``<request>`` attributes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from catalogue.model import SET_SPEC
from catalogue.web.oai.errors import BadArgument, BadVerb

# verb -> (required, optional); resumptionToken is exclusive wherever it is allowed.
VERB_ARGUMENTS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "Identify": (frozenset(), frozenset()),
    "ListMetadataFormats": (frozenset(), frozenset({"identifier"})),
    "ListSets": (frozenset(), frozenset({"resumptionToken"})),
    "GetRecord": (frozenset({"identifier", "metadataPrefix"}), frozenset()),
    "ListIdentifiers": (
        frozenset({"metadataPrefix"}),
        frozenset({"from", "until", "set", "resumptionToken"}),
    ),
    "ListRecords": (
        frozenset({"metadataPrefix"}),
        frozenset({"from", "until", "set", "resumptionToken"}),
    ),
}

# Far above any real value (our tokens are ~150 characters); bounds the work per request.
MAX_ARGUMENT_CHARS = 2000

# The pattern of OAI-PMH.xsd's metadataPrefixType (setSpecType: catalogue.model.SET_SPEC).
PREFIX_PATTERN = re.compile(r"[A-Za-z0-9\-_.!~*'()]+")
# Characters a URI may hold (RFC 3986 unreserved, reserved and '%'): an identifier made of
# others cannot be one of ours and is not a valid xs:anyURI to echo.
_URI_CHARS = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+")
# ASCII digits only: \d and strptime also take full-width and other Unicode digits, which
# would then be echoed into <request> and fail OAI-PMH.xsd.
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_SECOND = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")


@dataclass(frozen=True)
class OaiRequest:
    """A request's verb and its single-valued arguments, before verb-specific parsing."""

    verb: str
    arguments: dict[str, str]


@dataclass(frozen=True)
class ListArgs:
    """ListIdentifiers / ListRecords without a resumptionToken.

    ``from_`` and ``until`` are the first and the last second they cover (inclusive): a
    day-granularity ``until`` covers its whole day.
    """

    prefix: str
    from_: datetime | None
    until: datetime | None
    set_spec: str | None


@dataclass(frozen=True)
class RecordArgs:
    """GetRecord."""

    identifier: str
    prefix: str


def parse_request(values: Mapping[str, Sequence[str]]) -> OaiRequest:
    """Check verb, names, repetitions, exclusivity and presence of the arguments."""
    verbs = values.get("verb") or []
    if len(verbs) != 1 or verbs[0] not in VERB_ARGUMENTS:
        raise BadVerb("the verb argument is missing, repeated or not an OAI-PMH verb")
    verb = verbs[0]
    required, optional = VERB_ARGUMENTS[verb]
    arguments: dict[str, str] = {}
    for name, given in values.items():
        if name == "verb":
            continue
        if name not in required | optional:
            raise BadArgument(f"{verb} has no argument of that name")
        if len(given) != 1:
            raise BadArgument("an argument is repeated")
        value = given[0]
        if len(value) > MAX_ARGUMENT_CHARS or not value.isprintable():
            raise BadArgument("an argument is too long or holds control characters")
        arguments[name] = value
    if "resumptionToken" in arguments:
        if len(arguments) > 1:
            raise BadArgument("resumptionToken is an exclusive argument")
        return OaiRequest(verb, arguments)
    missing = sorted(required - arguments.keys())
    if missing:
        raise BadArgument(f"missing required argument {', '.join(missing)}")
    return OaiRequest(verb, arguments)


def list_args(arguments: Mapping[str, str]) -> ListArgs:
    """The validated arguments of a first ListIdentifiers / ListRecords request."""
    given_from, given_until = arguments.get("from"), arguments.get("until")
    if given_from and given_until and len(given_from) != len(given_until):
        raise BadArgument("from and until have different granularities")
    from_ = _date_bounds(given_from, "from")[0] if given_from is not None else None
    until = _date_bounds(given_until, "until")[1] if given_until is not None else None
    if from_ is not None and until is not None and from_ > until:
        raise BadArgument("until is earlier than from")
    set_spec = arguments.get("set")
    if set_spec is not None and not SET_SPEC.fullmatch(set_spec):
        raise BadArgument("set is not a valid setSpec")
    return ListArgs(prefix(arguments), from_, until, set_spec)


def record_args(arguments: Mapping[str, str]) -> RecordArgs:
    return RecordArgs(identifier(arguments), prefix(arguments))


def prefix(arguments: Mapping[str, str]) -> str:
    value = arguments["metadataPrefix"]
    if not PREFIX_PATTERN.fullmatch(value):
        raise BadArgument("metadataPrefix is not a valid metadata prefix")
    return value


def identifier(arguments: Mapping[str, str]) -> str:
    value = arguments["identifier"]
    if not _URI_CHARS.fullmatch(value):
        raise BadArgument("identifier is not a URI")
    return value


def _date_bounds(text: str, name: str) -> tuple[datetime, datetime]:
    """(first, last) second covered by an inclusive from/until value of either granularity."""
    try:
        if _DAY.fullmatch(text):
            day = datetime.strptime(text, "%Y-%m-%d")
            return day, day.replace(hour=23, minute=59, second=59)
        if _SECOND.fullmatch(text):
            moment = datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ")
            return moment, moment
    except ValueError:
        pass
    raise BadArgument(f"{name} is not a date (YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ)")
