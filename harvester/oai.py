"""OAI-PMH client side: sickle's client and paging, with safe parsing and tolerant errors.

sickle supplies the request/paging machinery (``Sickle`` and its response iterator); we
replace what it does unsafely or strictly:

- every body is parsed once with :func:`mappings.xml.parse_xml` (no entities, no network,
  size-capped); a page that fails is repaired with :func:`mappings.xml.repair_xml` and
  parsed again, and the repair is reported as page warnings;
- a ListRecords page is parsed incrementally (:func:`mappings.xml.iterparse_xml`): each
  <record> becomes an :class:`OAIRecord` (its payload kept as bytes) as soon as it is
  parsed and is then dropped from the tree, so a page costs a small multiple of its size
  (the whole tree of a 45 MB page cost about 8 times it; see
  benchmarks/page_memory_bench.py);
- OAI errors are read from the body whatever the HTTP status (Zenodo sends them with
  422); ``noRecordsMatch`` is an empty result, every other OAI error raises ``SourceOAIError``;
- HTTP goes through :mod:`harvester.http` (retries honouring Retry-After, size cap,
  User-Agent, gzip).

Pages are yielded one at a time, so memory stays flat however long the list is.

Past 400 lines: sickle's client and paging with the safe parser and the tolerant error
handling that each page needs together.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple

from lxml import etree
from sickle import Sickle
from sickle.iterator import OAIResponseIterator
from sickle.models import ResumptionToken
from sickle.response import OAIResponse

from harvester import stamp, stop
from harvester.http import Fetched, FetchError, HarvestError
from harvester.rest.core import RestClient
from harvester.settings import HarvestSettings
from harvester.url_policy import public_url
from mappings import MappingError
from mappings.formats import FORMATS, HARVEST_PREFERENCE
from mappings.namespaces import DAY_GRANULARITY, DC_NS, OAI_TAG, SECONDS_GRANULARITY
from mappings.xml import iterparse_xml, parse_xml, repair_xml

log = logging.getLogger(__name__)

_DC = f"{{{DC_NS}}}"
_HEADER, _METADATA = OAI_TAG + "header", OAI_TAG + "metadata"
_IDENTIFIER, _DATESTAMP = OAI_TAG + "identifier", OAI_TAG + "datestamp"
_SET_SPEC = OAI_TAG + "setSpec"
XML_ACCEPT = "text/xml, application/xml;q=0.9, */*;q=0.1"


class SourceOAIError(HarvestError):
    """An OAI-PMH error the harvested source answered (badArgument, badResumptionToken, ...);
    the provider's own errors are :class:`catalogue.web.oai.errors.OAIError`."""

    def __init__(self, code: str, message: str, url: str = "") -> None:
        self.code = code
        self.message = message
        super().__init__(f"OAI-PMH error {code}: {message or '(no description)'} from {url}")


class UnreadableResponse(HarvestError):
    """A response that is not OAI-PMH XML even after repair: its records would be lost."""


@dataclass(frozen=True)
class Identity:
    """What an Identify response tells a harvester."""

    repository_name: str | None
    base_url: str | None
    protocol_version: str | None
    earliest_datestamp: datetime | None
    deleted_record: str | None
    granularity: str
    response_date: datetime | None = None  # the repository's clock when it answered


class MetadataFormat(NamedTuple):
    prefix: str
    namespace: str | None
    schema: str | None


@dataclass(slots=True)
class OAIRecord:
    """One record of a ListRecords page, its payload still XML: ``raw``, the payload
    element serialised (None for a deleted record or one without metadata)."""

    source_id: str
    datestamp: datetime | None
    set_specs: list[str]
    deleted: bool
    raw: bytes | None

    @property
    def payload(self) -> etree._Element | None:
        """The payload element, parsed again from ``raw`` at each call: a page keeps its
        records as bytes, a fraction of what their elements cost (and mapping workers
        parse the same bytes). Raises MappingError for bytes the safe parser refuses."""
        return None if self.raw is None else parse_xml(self.raw)


@dataclass
class Page:
    """One ListRecords response."""

    response_date: datetime | None
    records: list[OAIRecord]
    resumption_token: str | None = None
    cursor: int | None = None
    complete_list_size: int | None = None
    warnings: list[str] = field(default_factory=list)
    size: int = 0  # bytes of the response body


def parse_datestamp(text: str | None) -> datetime | None:
    """An OAI datestamp (day or second granularity) as naive UTC; None when unparseable."""
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


def format_datestamp(value: datetime, granularity: str = SECONDS_GRANULARITY) -> str:
    """A from/until argument in the repository's granularity (naive datetimes are UTC)."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    if granularity == DAY_GRANULARITY:
        return value.strftime("%Y-%m-%d")
    return stamp(value)


class _SafeResponse(OAIResponse):
    """sickle's OAIResponse, parsed once, safely, with repair of broken pages."""

    def __init__(self, fetched: Fetched, params: dict[str, str], max_bytes: int) -> None:
        super().__init__(fetched, params)
        self.warnings: list[str] = []
        # A ListRecords page's records, taken out of the tree as it is parsed.
        self.records: list[OAIRecord] = []
        self.skipped = 0  # records without a header identifier
        self._list = params.get("verb") == "ListRecords"
        self._xml = self._parse(fetched, max_bytes)

    @property
    def raw(self) -> str:
        return self.http_response.content.decode("utf-8", errors="replace")

    @property
    def xml(self) -> etree._Element:
        return self._xml

    def _parse(self, fetched: Fetched, max_bytes: int) -> etree._Element:
        if _looks_like_html(fetched):
            raise UnreadableResponse(
                f"this is an HTML page, not an OAI-PMH endpoint: {public_url(fetched.url)} "
                f"(HTTP {fetched.status})"
            )
        try:
            root = self._read(fetched.content, max_bytes)
        except MappingError as first:
            repaired, warnings = repair_xml(fetched.content)
            try:
                root = self._read(repaired, max_bytes)
            except MappingError as second:
                raise UnreadableResponse(
                    f"unreadable response from {fetched.url} (HTTP {fetched.status}): "
                    f"{first}; after repair: {second}"
                ) from second
            self.warnings = [f"page repaired ({first}): {w}" for w in warnings or ["no change"]]
        if isinstance(root.tag, str) and etree.QName(root).localname.lower() == "html":
            raise UnreadableResponse(  # XHTML: well-formed, and still not OAI-PMH
                f"this is an HTML page, not an OAI-PMH endpoint: {public_url(fetched.url)}"
            )
        return root

    def _read(self, data: bytes, max_bytes: int) -> etree._Element:
        if not self._list:
            return parse_xml(data, max_bytes=max_bytes)
        self.records, self.skipped = [], 0  # a failed first try may have handed some over
        return iterparse_xml(data, OAI_TAG + "record", self._take_record, max_bytes=max_bytes)

    def _take_record(self, node: etree._Element) -> bool:
        """A parsed <record>: kept as an OAIRecord when it is one of the list's (a <record>
        in the OAI namespace elsewhere, inside a payload, is left where it is)."""
        container = node.getparent()
        if (
            container is None
            or container.tag != OAI_TAG + "ListRecords"
            or container.getparent() is None
            or container.getparent().tag != OAI_TAG + "OAI-PMH"
        ):
            return False
        record = parse_record(node)
        if record is None:
            self.skipped += 1
        else:
            self.records.append(record)
        return True


def _looks_like_html(fetched: Fetched) -> bool:
    """An HTML page (a repository's home page given as its OAI-PMH URL, a login page)."""
    head = fetched.content[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<!doctype html", b"<html"))


class _PageIterator(OAIResponseIterator):
    """sickle's response iterator with our error handling and a repeated-token guard."""

    def _next_response(self) -> None:
        params = self.params
        previous = self.resumption_token.token if self.resumption_token else None
        if previous:
            params = {"resumptionToken": previous, "verb": self.verb}
        response: _SafeResponse = self.sickle.harvest(**params)
        self.oai_response = response
        root = response.xml
        if root.tag != OAI_TAG + "OAI-PMH":
            raise UnreadableResponse(
                f"not an OAI-PMH response from {response.http_response.url}: root {root.tag}"
            )
        errors = root.findall(OAI_TAG + "error")
        self.resumption_token = None
        if errors:
            codes = {e.get("code", "") for e in errors}
            if codes == {"noRecordsMatch"}:
                return  # an empty result, not a failure
            first = errors[0]
            raise SourceOAIError(
                first.get("code", "unknown"),
                (first.text or "").strip(),
                response.http_response.url,
            )
        if root.find(OAI_TAG + self.verb) is None:
            # Neither the list nor an error: treating it as an empty list would move
            # harvest_from past records we never saw.
            raise UnreadableResponse(
                f"response from {response.http_response.url} has no {self.verb} element"
            )
        self.resumption_token = self._get_resumption_token()
        token = self.resumption_token.token if self.resumption_token else None
        if token:
            # A token seen before in this list means the server pages in a cycle (A, B, A):
            # following it would never end.
            seen = self.__dict__.setdefault("_seen_tokens", set())
            if token in seen:
                raise SourceOAIError(
                    "badResumptionToken", f"server repeated the token {token!r}", ""
                )
            seen.add(token)


class _SafeSickle(Sickle):
    """A Sickle whose requests go through our HTTP client (retries, URL policy on every
    redirect hop, the source's auth, redaction) and safe parser."""

    def __init__(self, endpoint: str, client: RestClient) -> None:
        super().__init__(endpoint, iterator=_PageIterator)
        self.client = client
        self.settings = client.settings

    def harvest(self, **kwargs: str) -> _SafeResponse:
        # A body that cannot be read even after repair is most often cut short on the way
        # (a connection closed mid-body with a Content-Length saying so): asked for again.
        # With the backoff of any retry: an HTML page in place of XML (a proxy's error or
        # maintenance page) was asked for again at once, max_retries times in milliseconds.
        for attempt in range(self.settings.max_retries):
            try:
                return self._harvest_once(kwargs)
            except UnreadableResponse as exc:
                wait = self.settings.backoff * 2**attempt
                log.warning("%s; asking again in %.1f s", self.client.redact(str(exc))[:300], wait)
                self.client.pause(wait)
        return self._harvest_once(kwargs)

    def _harvest_once(self, kwargs: dict[str, str]) -> _SafeResponse:
        fetched = self.client.get_any(self.endpoint, kwargs, accept=XML_ACCEPT)
        if fetched.status >= 400:
            # Many providers send OAI errors with 4xx: read the body before judging the status.
            try:
                response = _SafeResponse(fetched, kwargs, self.settings.max_page_bytes)
            except UnreadableResponse:
                response = None
            if response is None or response.xml.find(OAI_TAG + "error") is None:
                raise FetchError(f"HTTP {fetched.status} from {fetched.url}")
            return response
        return _SafeResponse(fetched, kwargs, self.settings.max_page_bytes)


class OAIClient:
    """An OAI-PMH 2.0 harvesting client for one repository base URL.

    ``settings`` are the harvest settings (timeouts, retries, size cap, deny-list, ...).
    """

    def __init__(
        self,
        base_url: str,
        settings: HarvestSettings,
        *,
        sleep: Any = None,
        config: Mapping[str, Any] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        extra = {"sleep": sleep} if sleep is not None else {}
        # ``config``: the source's own settings, as for REST sources (auth, rate_limit, ...).
        self.client = RestClient(base_url, settings, config or {}, env=env, **extra)
        self.base_url = base_url
        self.granularity = SECONDS_GRANULARITY
        self._sickle = _SafeSickle(base_url, self.client)

    def redact(self, text: str) -> str:
        """``text`` without the source's credentials (token, URL user information)."""
        return self.client.redact(text)

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> OAIClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _single(self, verb: str, **params: str) -> etree._Element:
        return self._first({"verb": verb, **params}).oai_response.xml

    def _first(self, params: dict[str, str]) -> _PageIterator:
        """An iterator over a list, its first response read (the requests of a harvest
        thread outside the pages' prefetching: a stopping process does not wait for them)."""
        return stop.interruptible(lambda: _PageIterator(self._sickle, params))

    def identify(self) -> Identity:
        """Identify the repository; remembers its granularity for later from/until."""
        root = self._single("Identify")
        node = root.find(OAI_TAG + "Identify")
        if node is None:
            raise UnreadableResponse(f"Identify response from {self.base_url} has no Identify")

        def text(name: str) -> str | None:
            found = node.findtext(OAI_TAG + name)
            return found.strip() if found else None

        granularity = text("granularity") or DAY_GRANULARITY
        if granularity != SECONDS_GRANULARITY:
            granularity = DAY_GRANULARITY
        self.granularity = granularity
        return Identity(
            repository_name=text("repositoryName"),
            base_url=text("baseURL"),
            protocol_version=text("protocolVersion"),
            earliest_datestamp=parse_datestamp(text("earliestDatestamp")),
            deleted_record=text("deletedRecord"),
            granularity=granularity,
            response_date=parse_datestamp(root.findtext(OAI_TAG + "responseDate")),
        )

    def list_metadata_formats(self) -> list[MetadataFormat]:
        """The formats the repository offers, in its order."""
        root = self._single("ListMetadataFormats")
        formats = []
        for node in root.iter(OAI_TAG + "metadataFormat"):
            prefix = (node.findtext(OAI_TAG + "metadataPrefix") or "").strip()
            if prefix:
                namespace = node.findtext(OAI_TAG + "metadataNamespace")
                schema = node.findtext(OAI_TAG + "schema")
                formats.append(
                    MetadataFormat(
                        prefix,
                        namespace.strip() if namespace else None,
                        schema.strip() if schema else None,
                    )
                )
        return formats

    def list_sets(self, limit: int = 200) -> tuple[list[tuple[str, str]], bool]:
        """The first ``limit`` sets (spec, name) of the first ListSets page, and whether the
        repository has more (a resumption token or more than ``limit``)."""
        iterator = self._first({"verb": "ListSets"})
        sets = []
        for node in iterator.oai_response.xml.iter(OAI_TAG + "set"):
            spec = (node.findtext(OAI_TAG + "setSpec") or "").strip()
            if spec:
                sets.append((spec, (node.findtext(OAI_TAG + "setName") or "").strip()))
        more = iterator.resumption_token is not None and bool(iterator.resumption_token.token)
        return sets[:limit], more or len(sets) > limit

    def choose_prefix(self, preferred: Sequence[str] = HARVEST_PREFERENCE) -> str:
        """The first of ``preferred`` the repository offers (matched by prefix, then namespace)."""
        offered = self.list_metadata_formats()
        for wanted in preferred:
            namespace = FORMATS[wanted].namespace if wanted in FORMATS else None
            for fmt in offered:
                if fmt.prefix == wanted:
                    return fmt.prefix
            for fmt in offered:
                if namespace and fmt.namespace == namespace:
                    return fmt.prefix
        names = ", ".join(f.prefix for f in offered) or "none"
        raise SourceOAIError(
            "cannotDisseminateFormat",
            f"none of {', '.join(preferred)} offered (offered: {names})",
            self.base_url,
        )

    def iter_pages(
        self,
        prefix: str,
        from_: datetime | None = None,
        until: datetime | None = None,
        set_: str | None = None,
        *,
        resume: str | None = None,
    ) -> Iterator[Page]:
        """ListRecords page by page; dates are sent in the repository's granularity.
        ``resume``: a resumption token of this list to go on from (the other arguments
        are then not sent)."""
        params = {"verb": "ListRecords", "metadataPrefix": prefix}
        if from_ is not None:
            params["from"] = format_datestamp(from_, self.granularity)
        if until is not None:
            params["until"] = format_datestamp(until, self.granularity)
        if set_:
            params["set"] = set_
        if resume:
            params = {"verb": "ListRecords", "resumptionToken": resume}
        iterator = _PageIterator(self._sickle, params)
        for response in iterator:
            yield _page(response, iterator.resumption_token)


def _page(response: _SafeResponse, token: ResumptionToken | None) -> Page:
    root = response.xml
    warnings = list(response.warnings)
    warnings += ["record without header identifier skipped"] * response.skipped
    return Page(
        response_date=parse_datestamp(root.findtext(OAI_TAG + "responseDate")),
        records=response.records,
        resumption_token=token.token if token else None,
        cursor=_int(token.cursor) if token else None,
        complete_list_size=_int(token.complete_list_size) if token else None,
        warnings=warnings,
        size=len(response.http_response.content),
    )


def parse_record(node: etree._Element) -> OAIRecord | None:
    """One <record> of a ListRecords or GetRecord response; None without an identifier."""
    # One pass over the record's children and one over its header's, each tag compared
    # with ==: every find/findtext/iterfind costs ~1 µs (a path lookup and its matcher),
    # half of what reading a record's header took.
    header = metadata = None
    for child in node:
        tag = child.tag
        if tag == _HEADER:
            if header is None:
                header = child
        elif tag == _METADATA and metadata is None:
            metadata = child
    if header is None:
        return None
    identifier = datestamp = None
    set_specs: list[str] = []
    for child in header:
        tag = child.tag
        if tag == _IDENTIFIER:
            if identifier is None:
                identifier = child.text or ""
        elif tag == _DATESTAMP:
            if datestamp is None:
                datestamp = child.text
        elif tag == _SET_SPEC and child.text:
            set_specs.append(child.text.strip())
    identifier = (identifier or "").strip()
    if not identifier:
        return None
    deleted = header.get("status") == "deleted"
    payload = None
    if metadata is not None and not deleted:
        payload = next((c for c in metadata if isinstance(c.tag, str)), None)
        if payload is not None and payload.tag.startswith(_DC):
            payload = metadata  # bare dc:* elements without their oai_dc:dc wrapper
    return OAIRecord(
        source_id=identifier,
        datestamp=parse_datestamp(datestamp),
        set_specs=set_specs,
        deleted=deleted,
        raw=etree.tostring(payload, encoding="utf-8") if payload is not None else None,
    )


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None
