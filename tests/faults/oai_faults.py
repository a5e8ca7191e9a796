"""A fault-injecting OAI-PMH server (tests and benchmarks): a real repository over HTTP that
misbehaves on request.

The repository is :class:`catalogue.demo.repository.Repository` (valid OAI-PMH 2.0, stateless
keyset resumption tokens); the server sits between it and the socket and injects:

one-shot faults (:class:`Fault`, queued with :meth:`FaultServer.inject`, each applied to the
next ListRecords request, ``bad_token`` to the next one carrying a resumption token):

    status          HTTP ``status`` (500, 502, 503, ...), with ``retry_after`` or without
    hang            no answer for ``seconds`` (past the client timeout), then the socket closes
    close           the headers promise the whole body; half of it comes, then the socket closes
    truncate        half of the body, with a Content-Length saying so (broken XML)
    control         characters illegal in XML 1.0 in a record's title
    bad_utf8        bytes invalid in UTF-8 in a record's title
    wrong_encoding  the body in ISO-8859-1 while its declaration says UTF-8
    bad_token       badResumptionToken for a token this server issued
    empty_page      a ListRecords without records whose token resumes at the same place
    trickle         the body one byte every ``seconds`` (2 s): never a socket timeout
    huge_error      an OAI error (badArgument) with 100 KB of text

behaviours (:attr:`FaultServer.behaviours`, for every ListRecords request while set):

    ignore_dates    from/until are ignored: the whole list every time
    repeat_record   each page repeats the last record of the page before it
    fresh_token     every page has a new token leading to the same page again (never ends)
    fresh_token_empty  the same, with no records at all

and ``rate`` (with ``seed``): that fraction of ListRecords requests get a random survivable
fault of ``random_kinds``. Every request's arguments are logged (:attr:`FaultServer.log`), so
tests count what a harvest asked for; :attr:`FaultServer.injected` counts faults by kind.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from lxml import etree

from catalogue.demo.repository import Repository, _decode_token, _encode_token

OAI_NS = "http://www.openarchives.org/OAI/2.0/"
OAI_DC = (
    "http://www.openarchives.org/OAI/2.0/oai_dc.xsd",
    "http://www.openarchives.org/OAI/2.0/oai_dc/",
)
ONE_SHOT_KINDS = (
    "status",
    "hang",
    "close",
    "truncate",
    "control",
    "bad_utf8",
    "wrong_encoding",
    "bad_token",
    "empty_page",
    "trickle",
    "huge_error",
)
BEHAVIOURS = ("ignore_dates", "repeat_record", "fresh_token", "fresh_token_empty")


@dataclass(frozen=True)
class Fault:
    """One injected fault (see the module doc for the kinds)."""

    kind: str
    status: int = 503
    retry_after: str | None = None
    seconds: float = 2.0

    def __post_init__(self) -> None:
        if self.kind not in ONE_SHOT_KINDS:
            raise ValueError(f"unknown fault {self.kind!r}")

    @property
    def name(self) -> str:
        if self.kind == "status":
            return f"{self.status}" + (" retry-after" if self.retry_after is not None else "")
        return self.kind


SURVIVABLE: tuple[Fault, ...] = (
    Fault("status", 500),
    Fault("status", 502),
    Fault("status", 503),
    Fault("status", 503, retry_after="0"),
    Fault("status", 500, retry_after="1"),
    Fault("close"),
    Fault("truncate"),
    Fault("control"),
    Fault("bad_utf8"),
    Fault("wrong_encoding"),
    Fault("bad_token"),
    Fault("empty_page"),
)
"""Faults a harvest must get through with nothing lost (retries, repair, token fallback)."""


def make_repository(n: int, page_size: int = 10, *, start: datetime | None = None,
                    step: timedelta = timedelta(hours=7)) -> Repository:  # fmt: skip
    """A repository of ``n`` oai_dc records ``oai:faults:<i>``, one every ``step`` from
    ``start`` (2020-01-01), titles with non-ASCII letters, served in pages of ``page_size``."""
    repo = Repository(name="Fault injection", page_size=page_size, formats={"oai_dc": OAI_DC})
    first = start or datetime(2020, 1, 1)
    for i in range(n):
        stamp = first + step * i
        repo.add(
            "oai_dc",
            (
                f'<record xmlns="{OAI_NS}"><header><identifier>oai:faults:{i}</identifier>'
                f"<datestamp>{stamp:%Y-%m-%dT%H:%M:%SZ}</datestamp></header><metadata>"
                '<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" '
                'xmlns:dc="http://purl.org/dc/elements/1.1/">'
                f"<dc:title>Récord número {i}</dc:title><dc:creator>Doe, Jane</dc:creator>"
                f"<dc:identifier>https://doi.org/10.5555/faults.{i}</dc:identifier>"
                "<dc:date>2020-01-01</dc:date><dc:type>Dataset</dc:type>"
                "<dc:publisher>Fault Repository</dc:publisher>"
                "</oai_dc:dc></metadata></record>"
            ).encode(),
        )
    return repo


class FaultServer(ThreadingHTTPServer):
    """An OAI-PMH server at ``/oai`` over ``repository`` that injects faults (module doc)."""

    daemon_threads = True

    def __init__(
        self,
        repository: Repository,
        *,
        faults: Iterable[Fault] = (),
        behaviours: Iterable[str] = (),
        rate: float = 0.0,
        seed: int | None = None,
        random_kinds: Iterable[Fault] = SURVIVABLE,
        page_delay: float = 0.0,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__((host, port), _Handler)
        self.repository = repository
        self.queue: deque[Fault] = deque(faults)
        self.behaviours = set(behaviours)
        unknown = self.behaviours - set(BEHAVIOURS)
        if unknown:
            raise ValueError(f"unknown behaviours {sorted(unknown)}")
        self.rate = rate
        self.rng = random.Random(seed)
        self.random_kinds = tuple(random_kinds)
        self.page_delay = page_delay
        self.log: list[dict[str, str]] = []
        self.injected: Counter[str] = Counter()
        self.fault_log: list[int] = []  # the index in ``log`` of each request given a fault
        self._previous_last: bytes | None = None
        self._lock = threading.Lock()
        self._nonce = 0
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/oai"

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that went away (killed, timed out) is part of the tests: not reported."""

    def inject(self, *faults: Fault) -> None:
        """Queue one-shot faults for the next ListRecords requests, in order."""
        with self._lock:
            self.queue.extend(faults)

    def faults_since(self, list_request: int) -> int:
        """Faults injected since the ``list_request``-th ListRecords request."""
        with self._lock:
            listing = [i for i, q in enumerate(self.log) if q.get("verb") == "ListRecords"]
            start = listing[list_request] if list_request < len(listing) else len(self.log)
            return sum(1 for i in self.fault_log if i >= start)

    def list_requests(self) -> list[dict[str, str]]:
        """The arguments of every ListRecords request so far."""
        with self._lock:
            return [q for q in self.log if q.get("verb") == "ListRecords"]

    def start(self) -> FaultServer:
        self._thread = threading.Thread(target=self.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FaultServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- deciding ---------------------------------------------------------------

    def _fault_for(self, query: dict[str, str]) -> Fault | None:
        with self._lock:
            self.log.append(query)
            if query.get("verb") != "ListRecords":
                return None
            has_token = "resumptionToken" in query
            for fault in list(self.queue):
                if fault.kind != "bad_token" or has_token:
                    self.queue.remove(fault)
                    break
            else:
                fault = None
                if self.rate and self.rng.random() < self.rate:
                    choices = [f for f in self.random_kinds if f.kind != "bad_token" or has_token]
                    fault = self.rng.choice(choices) if choices else None
            if fault is not None:
                self.injected[fault.name] += 1
                self.fault_log.append(len(self.log) - 1)
            return fault

    def _next_nonce(self) -> int:
        with self._lock:
            self._nonce += 1
            return self._nonce

    def body(self, query: dict[str, str], fault: Fault | None) -> tuple[int, dict, bytes]:
        """Status, headers and body of the answer to ``query`` (before transport faults)."""
        xml = {"Content-Type": "text/xml; charset=utf-8"}
        if fault is not None and fault.kind == "status":
            headers = {"Content-Type": "text/plain"}
            if fault.retry_after is not None:
                headers["Retry-After"] = fault.retry_after
            return fault.status, headers, b"temporarily unavailable\n"
        if fault is not None and fault.kind == "huge_error":
            text = "x" * 50 + " ".join(["very-long-error-text"] * 5000)
            return 200, xml, self._error("badArgument", text[:100_000])
        if fault is not None and fault.kind == "bad_token":
            return 200, xml, self._error("badResumptionToken", "the resumptionToken expired")
        listing = query.get("verb") == "ListRecords"
        if listing and "ignore_dates" in self.behaviours:
            query = _without_dates(query)
        if listing and fault is not None and fault.kind == "empty_page":
            return 200, xml, self._empty_page(query)
        if listing and self.behaviours & {"fresh_token", "fresh_token_empty"}:
            return 200, xml, self._fresh_token_page(query)
        data = self.repository.respond({k: [v] for k, v in query.items()}, self.url)
        if listing and "repeat_record" in self.behaviours:
            data = self._repeat_previous(data)
        if fault is not None:
            data = _spoil(data, fault)
        return 200, xml, data

    def _error(self, code: str, text: str) -> bytes:
        from xml.sax.saxutils import escape

        return (
            f'<?xml version="1.0" encoding="UTF-8"?><OAI-PMH xmlns="{OAI_NS}">'
            f"<responseDate>{_now()}</responseDate><request>{self.url}</request>"
            f'<error code="{code}">{escape(text)}</error></OAI-PMH>'
        ).encode()

    def _page(self, records: bytes, token: str | None) -> bytes:
        token_xml = f"<resumptionToken>{token}</resumptionToken>" if token else ""
        return (
            f'<?xml version="1.0" encoding="UTF-8"?><OAI-PMH xmlns="{OAI_NS}">'
            f"<responseDate>{_now()}</responseDate><request>{self.url}</request>"
            f"<ListRecords>{records.decode()}{token_xml}</ListRecords></OAI-PMH>"
        ).encode()

    def _state(self, query: dict[str, str]) -> dict:
        if "resumptionToken" in query:
            return _decode_token(query["resumptionToken"])
        state: dict = {k: v for k, v in query.items() if k != "verb"}
        state["after"] = [datetime(1, 1, 1).isoformat(), ""]
        return state

    def _empty_page(self, query: dict[str, str]) -> bytes:
        """No records, and a token that resumes exactly where the request was."""
        try:
            state = self._state(query)
        except Exception:  # noqa: BLE001 - a token it cannot read: answered as the repository would
            return self.repository.respond({k: [v] for k, v in query.items()}, self.url)
        return self._page(b"", _encode_token(state))

    def _fresh_token_page(self, query: dict[str, str]) -> bytes:
        state = {**self._state(query), "nonce": self._next_nonce()}
        records = b""
        if "fresh_token" in self.behaviours:
            args = {k: [v] for k, v in state.items() if k in ("from", "until", "set")}
            args |= {"verb": ["ListRecords"], "metadataPrefix": [state["metadataPrefix"]]}
            first = self.repository.respond(args, self.url)
            root = etree.fromstring(first)
            found = root.find(f"{{{OAI_NS}}}ListRecords/{{{OAI_NS}}}record")
            records = etree.tostring(found) if found is not None else b""
        return self._page(records, _encode_token(state))

    def _repeat_previous(self, data: bytes) -> bytes:
        root = etree.fromstring(data)
        container = root.find(f"{{{OAI_NS}}}ListRecords")
        if container is None:
            return data
        with self._lock:
            previous, records = self._previous_last, container.findall(f"{{{OAI_NS}}}record")
            if records:
                self._previous_last = etree.tostring(records[-1])
        if previous is not None:
            container.insert(0, etree.fromstring(previous))
        return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _without_dates(query: dict[str, str]) -> dict[str, str]:
    if "resumptionToken" in query:
        try:
            state = _decode_token(query["resumptionToken"])
        except Exception:  # noqa: BLE001 - left for the repository to refuse
            return query
        state = {k: v for k, v in state.items() if k not in ("from", "until")}
        return {**query, "resumptionToken": _encode_token(state)}
    return {k: v for k, v in query.items() if k not in ("from", "until")}


def _spoil(data: bytes, fault: Fault) -> bytes:
    """The body with a content fault (transport faults are the handler's)."""
    if fault.kind == "control":
        return data.replace(b"<dc:title>", b"<dc:title>\x01\x0b\x1f", 1)
    if fault.kind == "bad_utf8":
        return data.replace(b"<dc:title>", b"<dc:title>\xff\xfe\xc3(", 1)
    if fault.kind == "wrong_encoding":
        return data.decode("utf-8").encode("iso-8859-1", errors="replace")
    return data


class _Handler(BaseHTTPRequestHandler):
    server: FaultServer
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 - the http.server naming
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        fault = self.server._fault_for(query)
        if self.server.page_delay and query.get("verb") == "ListRecords":
            time.sleep(self.server.page_delay)
        if fault is not None and fault.kind == "hang":
            time.sleep(fault.seconds)
            self.close_connection = True
            return
        status, headers, body = self.server.body(query, fault)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        sent = body
        if fault is not None and fault.kind == "truncate":
            sent = body[: len(body) // 2]
        self.send_header("Content-Length", str(len(sent)))
        self.end_headers()
        try:
            if fault is not None and fault.kind == "close":
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
            if fault is not None and fault.kind == "trickle":
                self.close_connection = True
                for i in range(len(sent)):
                    self.wfile.write(sent[i : i + 1])
                    self.wfile.flush()
                    time.sleep(fault.seconds)
                return
            self.wfile.write(sent)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass
