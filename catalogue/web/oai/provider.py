"""The OAI-PMH 2.0 provider: six verbs over the store, one function per verb.

Lists page with a keyset on (datestamp, id) carried in signed, stateless resumption tokens
(see ``tokens``), so every page costs the same however deep, and no token ever expires.

What a harvest sees of records that change while it runs (the guarantee we document):

- A record unchanged from the first request to the last is delivered exactly once.
- A changed record gets a new datestamp, later than the harvest's position, so it moves to
  the end of the list and is delivered again, in its new state, later in the same harvest
  (unless ``until`` excludes its new datestamp, or it left the requested set). A record is
  therefore never skipped because it changed; it may come twice, the later copy winning.
- A record deleted mid-harvest comes back as a deleted header at the end of the list.
- The one way to miss a change within a harvest: a write transaction takes its datestamp
  when it starts, so one that commits after the harvest has paged past that datestamp
  lands behind the harvest's position. The next incremental harvest with ``from`` at or
  before this harvest's first responseDate (minus the longest write, seconds) gets it.
- ``completeListSize`` is the list's size when the harvest started (counted once, on the
  first page, and carried in the token); records that move to the end can make the
  delivered total larger, which the last page's ``completeListSize`` then reports.

Past 400 lines: one function per verb of one protocol, sharing the list machinery;
arguments, tokens, errors and XML are already modules of their own.
"""

from __future__ import annotations

import gzip
import logging
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from urllib.parse import urlsplit

from flask import Blueprint, Response, current_app, request, url_for
from sqlalchemy.exc import OperationalError

from catalogue.config import OaiSettings
from catalogue.model import ROOT_SETS, SET_SPEC
from catalogue.store import OaiEntry, Source
from catalogue.web.negotiation import published_year
from catalogue.web.oai import browse, xml
from catalogue.web.oai.arguments import ListArgs, list_args, parse_request, record_args
from catalogue.web.oai.arguments import identifier as identifier_arg
from catalogue.web.oai.errors import (
    BadArgument,
    BadResumptionToken,
    CannotDisseminateFormat,
    IdDoesNotExist,
    NoMetadataFormats,
    NoRecordsMatch,
    OAIError,
)
from catalogue.web.oai.sets import set_name
from catalogue.web.oai.tokens import ListState, TokenSigner
from catalogue.web.services import services
from harvester import clock
from harvester.url_policy import public_url
from mappings.formats import FORMATS, Format
from mappings.namespaces import SECONDS_GRANULARITY

log = logging.getLogger(__name__)

bp = Blueprint("oai", __name__, static_folder="static", static_url_path="/oai/static")

# Records read by a ListRecords page's first query; later queries double it (see _read_page).
_FIRST_CHUNK = 25
# Formats in the order ListMetadataFormats gives them.
FORMAT_ORDER = ("oai_dc", "oai_datacite", "datacite")
# A form body bigger than this is no OAI-PMH request (the longest is a few hundred bytes).
MAX_FORM_BYTES = 16384
# gzip level 1: a page of 100 records shrinks ~8x in ~1 ms; level 6 gains ~15% in 4x the time.
COMPRESS_LEVEL = 1
COMPRESS_MIN_BYTES = 1024
_ID_MAX_CHARS = 64  # records.id
# Hosts of local use, where the URL requested is the right baseURL.
_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


class OaiRepository(Protocol):
    """What the provider reads from the store."""

    def oai_page(
        self,
        *,
        after: tuple[datetime, str] | None,
        from_: datetime | None,
        until: datetime | None,
        spec: str | None,
        limit: int,
        with_metadata: bool,
    ) -> list[OaiEntry]: ...

    def oai_entry(self, rid: str) -> OaiEntry | None: ...

    def oai_count(
        self, *, from_: datetime | None, until: datetime | None, spec: str | None
    ) -> int: ...

    def oai_earliest_datestamp(self) -> datetime | None: ...

    def oai_set_specs(self) -> list[str]: ...

    def list_sources(self) -> list[Source]: ...


@dataclass(frozen=True)
class Context:
    """One request's view of the provider's settings and store."""

    repository: OaiRepository
    settings: OaiSettings
    base_url: str
    signer: TokenSigner
    now: datetime

    max_bytes: int = 8 * 1024 * 1024

    @property
    def page_size(self) -> int:
        return self.settings.page_size

    def identifier(self, rid: str) -> str:
        return f"oai:{self.settings.repository_identifier}:{xml.text(rid)}"

    def local_id(self, identifier: str) -> str:
        """The record id inside one of our OAI identifiers; idDoesNotExist for others."""
        prefix = f"oai:{self.settings.repository_identifier}:"
        local = identifier[len(prefix) :]
        if not identifier.startswith(prefix) or not local or len(local) > _ID_MAX_CHARS:
            raise IdDoesNotExist("no record has this identifier")
        return local


# -- verbs ---------------------------------------------------------------------


def identify(ctx: Context, _arguments: dict[str, str]) -> list[str]:
    settings = ctx.settings
    earliest = ctx.repository.oai_earliest_datestamp() or ctx.now
    sample = f"oai:{settings.repository_identifier}:{_SAMPLE_ID}"
    return [
        "<Identify>",
        f"<repositoryName>{xml.text(settings.repository_name)}</repositoryName>",
        f"<baseURL>{xml.uri(ctx.base_url)}</baseURL>",
        "<protocolVersion>2.0</protocolVersion>",
        f"<adminEmail>{xml.text(settings.admin_email)}</adminEmail>",
        f"<earliestDatestamp>{xml.stamp(earliest)}</earliestDatestamp>",
        "<deletedRecord>persistent</deletedRecord>",
        f"<granularity>{SECONDS_GRANULARITY}</granularity>",
        "<compression>gzip</compression>",
        "<compression>deflate</compression>",
        xml.oai_identifier_description(settings.repository_identifier, sample),
        "</Identify>",
    ]


def list_metadata_formats(ctx: Context, arguments: dict[str, str]) -> list[str]:
    prefixes: Sequence[str] = FORMAT_ORDER
    if "identifier" in arguments:
        entry = _entry(ctx, identifier_arg(arguments))
        if not entry.deleted:
            prefixes = [p for p in FORMAT_ORDER if _disseminate(FORMATS[p], entry) is not None]
        if not prefixes:
            raise NoMetadataFormats("this record cannot be disseminated in any format")
    parts = ["<ListMetadataFormats>"]
    for prefix in prefixes:
        fmt = FORMATS[prefix]
        parts.append(
            f"<metadataFormat><metadataPrefix>{prefix}</metadataPrefix>"
            f"<schema>{xml.uri(fmt.schema)}</schema>"
            f"<metadataNamespace>{xml.uri(fmt.namespace)}</metadataNamespace></metadataFormat>"
        )
    parts.append("</ListMetadataFormats>")
    return parts


def list_sets(ctx: Context, arguments: dict[str, str]) -> list[str]:
    if "resumptionToken" in arguments:
        raise BadResumptionToken("ListSets is answered in one response; it has no tokens")
    # The root sets hold every record (the store keeps no rows for them), so they always exist.
    specs = sorted(ROOT_SETS | set(ctx.repository.oai_set_specs()))
    urls = _source_urls(ctx)
    parts = ["<ListSets>"]
    for spec in specs:
        if not SET_SPEC.fullmatch(spec):
            continue
        name, description = set_name(spec, urls)
        parts.append(
            f"<set><setSpec>{spec}</setSpec><setName>{xml.text(name)}</setName>"
            f"{xml.dc_description(description)}</set>"
        )
    parts.append("</ListSets>")
    return parts


def get_record(ctx: Context, arguments: dict[str, str]) -> list[str]:
    args = record_args(arguments)
    fmt = _format(args.prefix)
    entry = _entry(ctx, args.identifier)
    return ["<GetRecord>", _record(ctx, entry, fmt, _source_urls(ctx)), "</GetRecord>"]


def list_identifiers(ctx: Context, arguments: dict[str, str]) -> list[str]:
    return _list(ctx, arguments, "ListIdentifiers")


def list_records(ctx: Context, arguments: dict[str, str]) -> list[str]:
    return _list(ctx, arguments, "ListRecords")


VERB_HANDLERS: dict[str, Callable[[Context, dict[str, str]], list[str]]] = {
    "Identify": identify,
    "ListMetadataFormats": list_metadata_formats,
    "ListSets": list_sets,
    "GetRecord": get_record,
    "ListIdentifiers": list_identifiers,
    "ListRecords": list_records,
}


# -- lists ---------------------------------------------------------------------


def _list(ctx: Context, arguments: dict[str, str], verb: str) -> list[str]:
    state: ListState | None = None
    if "resumptionToken" in arguments:
        state = ctx.signer.decode(verb, arguments["resumptionToken"])
        args = state.args
    else:
        args = list_args(arguments)
    fmt = _format(args.prefix)
    page, rendered, more = _read_page(ctx, args, state, fmt if verb == "ListRecords" else None)
    cursor = state.cursor if state else 0
    if state is not None:
        total = state.complete_list_size
    elif more:
        total = _count(ctx, args)
    else:
        total = len(page)
    # Never below what this harvest will have seen; while more follows, above it, since
    # some clients stop paging once cursor + items reaches completeListSize.
    shown_total = max(total, cursor + len(page) + (1 if more else 0))
    parts = [f"<{verb}>", *rendered]
    if more:
        last = page[-1]
        token = ctx.signer.encode(
            verb, ListState(args, (last.datestamp, last.id), cursor + len(page), total)
        )
        parts.append(
            f'<resumptionToken completeListSize="{shown_total}" cursor="{cursor}">'
            f"{token}</resumptionToken>"
        )
    elif state is not None:
        # The last page of a list that took several: an empty token ends it.
        parts.append(f'<resumptionToken completeListSize="{shown_total}" cursor="{cursor}"/>')
    parts.append(f"</{verb}>")
    return parts


def _read_page(
    ctx: Context, args: ListArgs, state: ListState | None, fmt: Format | None
) -> tuple[list[OaiEntry], list[str], bool]:
    """The page's entries, each rendered (a record with ``fmt``, else a header), and
    whether more follow.

    A page ends at ``page_size`` entries or once it holds ``max_response_bytes`` (at least
    one entry; the token carries on). Records are read in chunks: the first of
    :data:`_FIRST_CHUNK`, then as many as the rest of the budget holds at the largest record
    seen, so a page of large records never holds much more than the budget in memory,
    while a page of ordinary records costs two queries.
    """
    size = ctx.page_size
    after = state.after if state else None
    urls = _source_urls(ctx) if fmt is not None else {}
    entries: list[OaiEntry] = []
    rendered: list[str] = []
    used = biggest = 0
    chunk = min(size, _FIRST_CHUNK) if fmt is not None else size
    while True:
        want = min(chunk, size - len(entries))
        rows = ctx.repository.oai_page(
            after=after,
            from_=args.from_,
            until=args.until,
            spec=args.set_spec,
            limit=want + 1,  # one more tells whether another page follows
            with_metadata=fmt is not None,
        )
        for n, entry in enumerate(rows[:want]):
            if fmt is not None:
                text = _record(ctx, entry, fmt, urls)
            else:
                text = xml.header(entry, ctx.identifier(entry.id))
            entries.append(entry)
            rendered.append(text)
            length = len(text.encode("utf-8"))
            used += length
            biggest = max(biggest, length)
            if used >= ctx.max_bytes:
                return entries, rendered, n < len(rows) - 1
        if len(rows) <= want:
            if not entries:
                # After a token only when the rest of the list left it (moved past ``until``
                # or out of the set) since the previous page.
                raise NoRecordsMatch("no records match the arguments")
            return entries, rendered, False
        if len(entries) >= size:
            return entries, rendered, True
        after = (entries[-1].datestamp, entries[-1].id)
        # as many as the rest of the budget holds at the largest record seen so far
        chunk = max(1, (ctx.max_bytes - used) // max(biggest, 1))


def _count(ctx: Context, args: ListArgs) -> int:
    return ctx.repository.oai_count(from_=args.from_, until=args.until, spec=args.set_spec)


def _record(ctx: Context, entry: OaiEntry, fmt: Format, source_urls: dict[str, str]) -> str:
    head = xml.header(entry, ctx.identifier(entry.id))
    if entry.deleted:
        return f"<record>{head}</record>"
    body = _disseminate(fmt, entry)
    if body is None:
        return f"<record>{head}</record>"
    return f"<record>{head}<metadata>{body}</metadata>{_about(entry, source_urls)}</record>"


def _disseminate(fmt: Format, entry: OaiEntry) -> str | None:
    """The record's payload in ``fmt``; None (logged) when the crosswalk fails on it."""
    try:
        return xml.payload(fmt.writer(entry.metadata or {}, fallback_year=published_year(entry)))
    except Exception:
        # The exports fill every gap with placeholders, so this is a crosswalk bug: the
        # harvest goes on with this record's header alone, and the log names the record.
        log.exception("cannot write record %s as %s", entry.id, fmt.prefix)
        return None


def _about(entry: OaiEntry, source_urls: dict[str, str]) -> str:
    """Provenance of a harvested record: where it came from, as what, when."""
    base_url = source_urls.get(entry.source)
    origin_format = FORMATS.get(entry.original_format or "")
    if (
        base_url is None
        or origin_format is None
        or entry.source_datestamp is None
        or entry.harvested_at is None
    ):
        return ""
    return xml.provenance(entry, base_url, origin_format.namespace)


def _source_urls(ctx: Context) -> dict[str, str]:
    """Each source's URL as anyone may see it (no credentials): ListSets, provenance."""
    return {source.key: public_url(source.url) for source in ctx.repository.list_sources()}


def _format(prefix: str) -> Format:
    fmt = FORMATS.get(prefix)
    if fmt is None or fmt.writer is None:
        raise CannotDisseminateFormat(f"metadataPrefix {prefix} is not disseminated here")
    return fmt


def _entry(ctx: Context, identifier: str) -> OaiEntry:
    entry = ctx.repository.oai_entry(ctx.local_id(identifier))
    if entry is None:
        raise IdDoesNotExist("no record has this identifier")
    return entry


# Any valid local id (lower-case base32 of 10 bytes, like every record id).
_SAMPLE_ID = "gezdgnbvgy3tqojq"


# -- the endpoint ----------------------------------------------------------------


@bp.route("/oai", methods=["GET", "POST"])
def endpoint() -> Response:
    """Every OAI-PMH request; the answer is always an OAI-PMH document with HTTP 200."""
    svc = services()
    settings = svc.settings.oai
    ctx = Context(
        repository=svc.store,
        settings=settings,
        base_url=_base_url(settings),
        signer=TokenSigner(svc.settings.secret_key),
        now=clock.utcnow(),
        max_bytes=svc.settings.max_response_bytes,
    )
    verb: str | None = None
    echoed: dict[str, str] = {}
    try:
        oai_request = parse_request(_request_values())
        verb, echoed = oai_request.verb, oai_request.arguments
        body = VERB_HANDLERS[verb](ctx, oai_request.arguments)
    except OAIError as exc:
        if not exc.echo_arguments:
            verb, echoed = None, {}
        body = [xml.error(exc.code, exc.message)]
    except OperationalError:
        # The database is away or busy: harvesters retry a 503 that says when.
        log.exception("OAI-PMH request failed on the database")
        return Response("database unavailable, retry later\n", 503, {"Retry-After": "30"})
    stylesheet = url_for("oai.static", filename="oai2.xsl") if settings.stylesheet else None
    document = xml.envelope(ctx.now, ctx.base_url, verb, echoed, body, stylesheet)
    if browse.wants_html():
        return browse.html_response(document)
    response = _response(document.encode("utf-8"))
    response.vary.add("Accept")
    return response


def _base_url(settings: OaiSettings) -> str:
    """``oai.base_url``, or else the URL requested (fine locally; behind a proxy the Host
    header is the client's to choose, so a public provider must set the setting)."""
    if settings.base_url:
        return settings.base_url
    state = current_app.extensions.setdefault("oai", {})
    if not state.get("base_url_warned") and _host_name(request.host) not in _LOCAL_HOSTS:
        state["base_url_warned"] = True
        log.warning(
            "oai.base_url is empty: the OAI-PMH baseURL comes from the request's Host header "
            "(%r); set CATALOGUE_OAI_BASE_URL to the provider's public URL",
            request.host,
        )
    return request.base_url


def _host_name(host: str) -> str | None:
    """The name in a Host header, without port or IPv6 brackets (None if malformed)."""
    try:
        return urlsplit(f"//{host}").hostname
    except ValueError:
        return None


def _request_values() -> dict[str, list[str]]:
    """GET arguments from the query string, POST arguments from the form body (spec 3.1.1)."""
    if request.method == "POST":
        if (request.content_length or 0) > MAX_FORM_BYTES:
            raise BadArgument("the request body is too large")
        values = request.form
    else:
        values = request.args
    return {name: values.getlist(name) for name in values}


def _response(body: bytes) -> Response:
    response = Response(body, status=200, content_type="text/xml; charset=utf-8")
    response.vary.add("Accept-Encoding")
    if len(body) < COMPRESS_MIN_BYTES:
        return response
    encoding = request.accept_encodings.best_match(("gzip", "deflate"))
    if encoding == "gzip":
        response.set_data(gzip.compress(body, COMPRESS_LEVEL, mtime=0))
    elif encoding == "deflate":
        # HTTP's "deflate" is the zlib format (RFC 9110 8.4.1.2), not raw deflate.
        response.set_data(zlib.compress(body, COMPRESS_LEVEL))
    else:
        return response
    response.content_encoding = encoding
    return response
