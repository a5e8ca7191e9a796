"""An in-memory OAI-PMH 2.0 repository that replays recorded record XML verbatim.

It answers the six verbs over whatever records it holds (recorded ones for the demo,
hand-made ones in tests), re-paginated into pages of ``page_size`` with its own
stateless keyset resumption tokens (last datestamp + last identifier + the arguments)
carrying ``cursor`` and ``completeListSize``. OAI errors are answered with HTTP 200.

The protocol pieces are the provider's (:mod:`catalogue.web.oai`): the same argument
checks, the same error classes, the same granularities; only the records and the
(unsigned) tokens are the replay's own.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from xml.sax.saxutils import escape, quoteattr

from lxml import etree

from catalogue.web.oai.arguments import ListArgs, list_args, parse_request
from catalogue.web.oai.errors import (
    BadArgument,
    BadResumptionToken,
    CannotDisseminateFormat,
    IdDoesNotExist,
    NoRecordsMatch,
    NoSetHierarchy,
    OAIError,
)
from mappings.namespaces import DAY_GRANULARITY as DAY
from mappings.namespaces import OAI_NS, OAI_SCHEMA, OAI_TAG, XSI_NS
from mappings.namespaces import SECONDS_GRANULARITY as SECONDS
from mappings.xml import parse_xml


@dataclass(frozen=True)
class ReplayRecord:
    """One record: header fields for filtering, and its ``<record>`` XML to serve as is."""

    identifier: str
    datestamp: datetime
    set_specs: tuple[str, ...]
    deleted: bool
    xml: bytes

    @classmethod
    def from_element(cls, node: etree._Element) -> ReplayRecord | None:
        """From a parsed ``<record>`` element; None when its header lacks id or datestamp."""
        header = node.find(OAI_TAG + "header")
        if header is None:
            return None
        identifier = (header.findtext(OAI_TAG + "identifier") or "").strip()
        datestamp = parse_date(header.findtext(OAI_TAG + "datestamp") or "")
        if not identifier or datestamp is None:
            return None
        return cls(
            identifier=identifier,
            datestamp=datestamp,
            set_specs=tuple(s.text.strip() for s in header.iterfind(OAI_TAG + "setSpec") if s.text),
            deleted=header.get("status") == "deleted",
            xml=etree.tostring(node, encoding="utf-8"),
        )


@dataclass
class Repository:
    """Records per metadata prefix plus what Identify and ListMetadataFormats say."""

    name: str
    granularity: str = SECONDS
    formats: dict[str, tuple[str, str]] = field(default_factory=dict)  # prefix: (schema, ns)
    admin_email: str = "admin@example.org"
    deleted_record: str = "persistent"
    page_size: int = 25
    records: dict[str, dict[str, ReplayRecord]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, prefix: str, record: ReplayRecord | bytes) -> ReplayRecord:
        """Add a record in format ``prefix`` (bytes: a ``<record>`` element).

        A record already held under the same identifier is replaced unless it is newer.
        """
        if isinstance(record, bytes):
            parsed = ReplayRecord.from_element(parse_xml(record))
            if parsed is None:
                raise ValueError("record without identifier or datestamp")
            record = parsed
        with self._lock:
            held = self.records.setdefault(prefix, {})
            old = held.get(record.identifier)
            if old is None or old.datestamp <= record.datestamp:
                held[record.identifier] = record
        return record

    def add_list_records(self, prefix: str, data: bytes) -> int:
        """Add every usable record of a recorded ListRecords (or GetRecord) response."""
        added = 0
        for node in parse_xml(data).iter(OAI_TAG + "record"):
            record = ReplayRecord.from_element(node)
            if record is not None:
                self.add(prefix, record)
                added += 1
        return added

    def count(self, prefix: str | None = None) -> int:
        if prefix is not None:
            return len(self.records.get(prefix, {}))
        return len({i for recs in self.records.values() for i in recs})

    # -- protocol ---------------------------------------------------------------

    def respond(self, query: Mapping[str, list[str]], base_url: str) -> bytes:
        """The complete OAI-PMH response document for one request's arguments."""
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        verb: str | None = None
        try:
            oai_request = parse_request(query)
            verb, args = oai_request.verb, oai_request.arguments
            request = _request_element(base_url, verb, args)
            body = _HANDLERS[verb](self, args, base_url)
        except OAIError as problem:
            request = _request_element(base_url, verb, {})
            body = f'<error code="{problem.code}">{escape(problem.message)}</error>'.encode()
        return b"".join(
            (
                b'<?xml version="1.0" encoding="UTF-8"?>\n',
                f'<OAI-PMH xmlns="{OAI_NS}" xmlns:xsi="{XSI_NS}" '
                f'xsi:schemaLocation="{OAI_NS} {OAI_SCHEMA}">'.encode(),
                f"<responseDate>{now}</responseDate>".encode(),
                request,
                body,
                b"</OAI-PMH>",
            )
        )

    def _identify(self, _args: dict[str, str], base_url: str) -> bytes:
        stamps = [r.datestamp for recs in self.records.values() for r in recs.values()]
        earliest = format_date(min(stamps) if stamps else datetime(2000, 1, 1), self.granularity)
        return (
            "<Identify>"
            f"<repositoryName>{escape(self.name)}</repositoryName>"
            f"<baseURL>{escape(base_url)}</baseURL>"
            "<protocolVersion>2.0</protocolVersion>"
            f"<adminEmail>{escape(self.admin_email)}</adminEmail>"
            f"<earliestDatestamp>{earliest}</earliestDatestamp>"
            f"<deletedRecord>{self.deleted_record}</deletedRecord>"
            f"<granularity>{self.granularity}</granularity>"
            "</Identify>"
        ).encode()

    def _list_metadata_formats(self, args: dict[str, str], _base_url: str) -> bytes:
        prefixes = [p for p in self.formats if self.records.get(p)]
        if "identifier" in args:
            prefixes = [p for p in prefixes if args["identifier"] in self.records[p]]
            if not prefixes:
                raise IdDoesNotExist(f"unknown identifier {args['identifier']}")
        parts = [
            f"<metadataFormat><metadataPrefix>{escape(p)}</metadataPrefix>"
            f"<schema>{escape(self.formats[p][0])}</schema>"
            f"<metadataNamespace>{escape(self.formats[p][1])}</metadataNamespace>"
            "</metadataFormat>"
            for p in prefixes
        ]
        return ("<ListMetadataFormats>" + "".join(parts) + "</ListMetadataFormats>").encode()

    def _list_sets(self, args: dict[str, str], _base_url: str) -> bytes:
        if "resumptionToken" in args:
            raise BadResumptionToken("ListSets is answered in one page")
        specs = sorted(
            {s for recs in self.records.values() for r in recs.values() for s in r.set_specs}
        )
        if not specs:
            raise NoSetHierarchy("this repository has no sets")
        parts = [
            f"<set><setSpec>{escape(s)}</setSpec><setName>{escape(s)}</setName></set>"
            for s in specs
        ]
        return ("<ListSets>" + "".join(parts) + "</ListSets>").encode()

    def _get_record(self, args: dict[str, str], _base_url: str) -> bytes:
        records = self._records_of(args["metadataPrefix"])
        record = records.get(args["identifier"])
        if record is None:
            if any(args["identifier"] in recs for recs in self.records.values()):
                raise CannotDisseminateFormat("record not in this format")
            raise IdDoesNotExist(f"unknown identifier {args['identifier']}")
        return b"<GetRecord>" + record.xml + b"</GetRecord>"

    def _list(self, args: dict[str, str], verb: str) -> bytes:
        if "resumptionToken" in args:
            args = _decode_token(args["resumptionToken"])
        listed = self._list_args(args)
        prefix, lower, upper, wanted = listed.prefix, listed.from_, listed.until, listed.set_spec
        matching = sorted(
            (
                r
                for r in self._records_of(prefix).values()
                if (lower is None or r.datestamp >= lower)
                and (upper is None or r.datestamp <= upper)
                and (
                    wanted is None
                    or any(s == wanted or s.startswith(wanted + ":") for s in r.set_specs)
                )
            ),
            key=lambda r: (r.datestamp, r.identifier),
        )
        if not matching:
            raise NoRecordsMatch("no records match the arguments")
        after = args.get("after")
        start = 0
        if after:
            key = (datetime.fromisoformat(after[0]), after[1])
            start = next(
                (i for i, r in enumerate(matching) if (r.datestamp, r.identifier) > key),
                len(matching),
            )
        page = matching[start : start + self.page_size]
        parts = [r.xml if verb == "ListRecords" else _header_only(r.xml) for r in page]
        end = start + len(page)
        token = b""
        if start or end < len(matching):
            value = ""
            if end < len(matching):
                last = page[-1]
                state = {k: v for k, v in args.items() if k != "after"}
                state["after"] = [last.datestamp.isoformat(), last.identifier]
                value = escape(_encode_token(state))
            token = (
                f'<resumptionToken completeListSize="{len(matching)}" cursor="{start}">'
                f"{value}</resumptionToken>"
            ).encode()
        return b"".join((f"<{verb}>".encode(), *parts, token, f"</{verb}>".encode()))

    def _list_records(self, args: dict[str, str], _base_url: str) -> bytes:
        return self._list(args, "ListRecords")

    def _list_identifiers(self, args: dict[str, str], _base_url: str) -> bytes:
        return self._list(args, "ListIdentifiers")

    def _records_of(self, prefix: str) -> dict[str, ReplayRecord]:
        if prefix not in self.formats or not self.records.get(prefix):
            raise CannotDisseminateFormat(f"metadataPrefix {prefix} not supported")
        return self.records[prefix]

    def _list_args(self, args: Mapping[str, str]) -> ListArgs:
        """The provider's checks, plus this repository's granularity: a repository of
        day granularity refuses from/until to the second (spec 3.3.1)."""
        if self.granularity == DAY:
            for name in ("from", "until"):
                if len(args.get(name) or "") > len("YYYY-MM-DD"):
                    raise BadArgument(f"{name} is finer than this repository's granularity")
        return list_args(args)


_HANDLERS = {
    "Identify": Repository._identify,
    "ListMetadataFormats": Repository._list_metadata_formats,
    "ListSets": Repository._list_sets,
    "GetRecord": Repository._get_record,
    "ListIdentifiers": Repository._list_identifiers,
    "ListRecords": Repository._list_records,
}


def parse_date(text: str) -> datetime | None:
    """An OAI datestamp as naive UTC, or None."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def format_date(value: datetime, granularity: str) -> str:
    return value.strftime("%Y-%m-%d" if granularity == DAY else "%Y-%m-%dT%H:%M:%SZ")


def _request_element(base_url: str, verb: str | None, args: dict[str, str]) -> bytes:
    attrs = "".join(f" {k}={quoteattr(v)}" for k, v in sorted(args.items()))
    verb_attr = f" verb={quoteattr(verb)}" if verb else ""
    return f"<request{verb_attr}{attrs}>{escape(base_url)}</request>".encode()


def _header_only(record_xml: bytes) -> bytes:
    node = etree.fromstring(record_xml)
    return etree.tostring(node.find(OAI_TAG + "header"), encoding="utf-8")


def _encode_token(state: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(state, sort_keys=True).encode()).decode()


def _decode_token(token: str) -> dict[str, str]:
    try:
        state = json.loads(base64.urlsafe_b64decode(token.encode()))
        if not isinstance(state, dict) or "metadataPrefix" not in state:
            raise ValueError(token)
        datetime.fromisoformat(state["after"][0])
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise BadResumptionToken("invalid or expired resumptionToken") from exc
    return state
