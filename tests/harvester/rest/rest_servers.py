"""Real local HTTP servers speaking the REST APIs the harvester reads.

Each API is a small WSGI app answering as its reference document shows
(../shared/reference), run by werkzeug in a thread. ``ApiServer`` adds what every test
needs: a log of requests, queued faults (429 with Retry-After, 500, a hostile body), gzip
when the client asks for it, and an optional required token. Also used by
benchmarks/rest_harvest_bench.py. Nothing starts at import time.
"""

from __future__ import annotations

import copy
import gzip
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from catalogue.demo import DEMO_DATA

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
JSON_TYPE = "application/json"


def load_fixture(name: str) -> Any:
    """A JSON file of the tests' own fixtures (test-only responses)."""
    return json.loads((FIXTURES / name).read_text())


def load_demo(name: str) -> Any:
    """A JSON file of the package's demo data (the real B2SHARE records, their one copy)."""
    return json.loads((DEMO_DATA / name).read_text())


@dataclass
class Fault:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


class ApiServer:
    """Serves ``app(request) -> Response`` on ``host`` (127.0.0.1) with faults, gzip, a token."""

    def __init__(
        self,
        app: Callable[[Request], Response],
        *,
        token: str | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        self.app = app
        self.token = token
        self.requests: list[tuple[str, dict[str, str], dict[str, str]]] = []
        self.faults: dict[str, list[Fault]] = {}
        self.gzipped = 0
        self._lock = threading.Lock()
        self._server = make_server(host, 0, self._wsgi, threaded=True)
        self.base = f"http://{host}:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def url(self, path: str = "") -> str:
        return self.base + path

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def fail(self, path: str, *faults: Fault) -> None:
        """Answer the next requests of ``path`` with ``faults``, in order."""
        with self._lock:
            self.faults.setdefault(path, []).extend(faults)

    def paths(self, prefix: str = "") -> list[tuple[str, dict[str, str]]]:
        return [(p, a) for p, a, _ in self.requests if p.startswith(prefix)]

    def _wsgi(self, environ: dict, start_response: Callable) -> Any:
        request = Request(environ)
        with self._lock:
            self.requests.append((request.path, dict(request.args), dict(request.headers)))
            queued = self.faults.get(request.path)
            fault = queued.pop(0) if queued else None
        if fault is not None:
            response = Response(fault.body, fault.status, headers=fault.headers)
        elif self.token and not self._authorised(request):
            response = Response(
                json.dumps(
                    {
                        "message": "The server could not verify that you are authorized",
                        "status": 401,
                    }
                ),  # fmt: skip
                401,
                content_type=JSON_TYPE,
            )
        else:
            response = self.app(request)
        if "gzip" in request.headers.get("Accept-Encoding", "") and response.status_code == 200:
            response.set_data(gzip.compress(response.get_data(), compresslevel=1))
            response.headers["Content-Encoding"] = "gzip"
            with self._lock:
                self.gzipped += 1
        return response(environ, start_response)

    def _authorised(self, request: Request) -> bool:
        header = request.headers.get("Authorization", "")
        return request.args.get("access_token") == self.token or header == f"Bearer {self.token}"


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    body = data if isinstance(data, bytes) else json.dumps(data).encode()
    return Response(body, status, headers=headers, content_type=JSON_TYPE)


# -- B2SHARE -------------------------------------------------------------------------

_RANGE = re.compile(r"^(\w+):([\[{])(\S+) TO (\S+)([\]}])$")


def b2share_record(
    n: int,
    updated: datetime,
    community: str = "e9b9792e-79fb-4b07-b6b4-b9c2bd06d095",
    *,
    template: dict | None = None,
) -> dict:
    """A record shaped like the real record_all_metadata_fields.json, with its own id."""
    record = copy.deepcopy(template or _TEMPLATE())
    rid = f"{n:032x}"
    record["id"] = rid
    record["created"] = updated.replace(tzinfo=UTC).isoformat()
    record["updated"] = updated.replace(tzinfo=UTC).isoformat()
    record["links"] = {"self": f"https://b2share.example.org/api/records/{rid}"}
    md = record["metadata"]
    md["community"] = community
    md["titles"] = [{"title": f"Record {n}"}]
    md["DOI"] = f"https://doi.org/10.5072/b2share.{rid}"
    md["ePIC_PID"] = f"http://hdl.handle.net/11304/{rid}"
    md.pop("alternate_identifiers", None)
    return record


def _TEMPLATE() -> dict:  # noqa: N802 - a constant read lazily
    return load_demo("b2share/record_all_metadata_fields.json")


class B2ShareApp:
    """/api/communities/, /api/communities/<id>/schemas/last, /api/records/[<id>].

    Like the real service, the search refuses to page past ``max_result_window`` hits
    (page * size), and sorts ``mostrecent`` (newest created first).
    """

    def __init__(
        self,
        records: list[dict] | None = None,
        communities: list[dict] | None = None,
        *,
        max_result_window: int = 10_000,
        max_size: int = 10_000,
    ) -> None:
        self.communities = communities or [load_demo("b2share/community.json")]
        self.max_result_window = max_result_window
        self.max_size = max_size
        self.set_records(records or [])

    def set_records(self, records: list[dict]) -> None:
        self.records = {r["id"]: r for r in records}
        self._index()

    def put(self, record: dict) -> None:
        self.records[record["id"]] = record
        self._index()

    def remove(self, rid: str) -> None:
        del self.records[rid]
        self._index()

    def _index(self) -> None:
        self._sorted = sorted(
            (
                (_when(r.get("created")), r["id"], _when(r.get("updated")), r)
                for r in self.records.values()
            ),
            key=lambda row: (row[0], row[1]),
            reverse=True,
        )
        self._encoded = {r["id"]: json.dumps(r).encode() for r in self.records.values()}
        self._cache: dict[str, list[str]] = {}

    def __call__(self, request: Request) -> Response:
        path = request.path
        if path == "/api/communities/":
            return json_response(
                {
                    "hits": {"hits": self.communities, "total": len(self.communities)},
                    "links": {"self": request.base_url},
                }
            )
        if m := re.fullmatch(r"/api/communities/([^/]+)/schemas/last", path):
            if not any(c["id"] == m.group(1) for c in self.communities):
                return json_response({"message": "Community not found", "status": 404}, 404)
            return json_response(
                {
                    "community": m.group(1),
                    "json_schema": {"allOf": [{}]},
                    "version": 0,
                    "links": {"self": request.base_url},
                }
            )
        if path == "/api/records/":
            return self._search(request)
        m = re.fullmatch(r"/api/records/([^/]+)", path)
        if m and m.group(1) in self.records:
            return json_response(self._encoded[m.group(1)])
        return json_response({"message": "The requested URL was not found", "status": 404}, 404)

    def _search(self, request: Request) -> Response:
        try:
            page = int(request.args.get("page", 1))
            size = int(request.args.get("size", 10))
        except ValueError:
            return json_response({"message": "Bad page or size", "status": 400}, 400)
        if page < 1 or size < 1 or size > self.max_size:
            return json_response({"message": "Invalid page or size", "status": 400}, 400)
        if page * size > self.max_result_window:
            return json_response(
                {
                    "message": "Result window is too large, from + size must be less than or "
                    f"equal to: [{self.max_result_window}]",
                    "status": 400,
                },
                400,
            )
        q = request.args.get("q", "")
        try:
            ids = self._matching(q)
        except ValueError as exc:
            return json_response({"message": f"query error: {exc}", "status": 400}, 400)
        chosen = ids[(page - 1) * size : page * size]
        args = {"q": q, "sort": request.args.get("sort", "mostrecent"), "size": size}
        links = {"self": f"{request.base_url}?{urlencode({**args, 'page': page})}"}
        if page * size < len(ids):
            links["next"] = f"{request.base_url}?{urlencode({**args, 'page': page + 1})}"
        hits = b",".join(self._encoded[i] for i in chosen)
        body = (
            b'{"aggregations":{"type":{"buckets":[]}},"hits":{"hits":['
            + hits
            + b'],"total":'
            + str(len(ids)).encode()
            + b'},"links":'
            + json.dumps(links).encode()
            + b"}"
        )
        return json_response(body)

    def _matching(self, q: str) -> list[str]:
        if q in self._cache:
            return self._cache[q]
        tests = [_clause(c) for c in q.split(" AND ") if c.strip()]
        ids = [rid for _, rid, _, r in self._sorted if all(t(r) for t in tests)]
        self._cache[q] = ids
        return ids


def _when(value: Any) -> datetime:
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed.astimezone(UTC).replace(tzinfo=None) if parsed.tzinfo else parsed


def _clause(text: str) -> Callable[[dict], bool]:
    text = text.strip()
    if text.startswith("(") and text.endswith(")"):
        text = text[1:-1].strip()
    options = [o.strip() for o in text.split(" OR ")]
    if len(options) > 1:
        tests = [_clause(o) for o in options]
        return lambda r: any(t(r) for t in tests)
    if m := _RANGE.match(text):
        name, opening, lo, hi, closing = m.groups()
        low = None if lo == "*" else _when(lo)
        high = None if hi == "*" else _when(hi)

        def in_range(record: dict) -> bool:
            value = _when(record.get(name))
            if low is not None and (value < low if opening == "[" else value <= low):
                return False
            return high is None or (value <= high if closing == "]" else value < high)

        return in_range
    if text.startswith("community:"):
        wanted = text.split(":", 1)[1]
        return lambda r: r.get("metadata", {}).get("community") == wanted
    raise ValueError(f"unsupported clause {text!r}")


# -- SURF Data Repository ------------------------------------------------------------


class SurfApp:
    """/api/objects/community, /api/objects (1-based pages, links next/last), objects."""

    def __init__(self, objects: list[dict], communities: list[dict], schemas: dict[str, dict]):
        self.objects = {o["properties"]["pid"]: o for o in objects}
        self.communities = communities
        self.schemas = schemas

    def __call__(self, request: Request) -> Response:
        path = request.path.rstrip("/")
        if path in ("/api/objects/community", "/api/communities"):
            return json_response(self.communities)
        if m := re.fullmatch(r"/api/objects/community/([^/]+)/schema", path):
            schema = self.schemas.get(m.group(1))
            return json_response(schema) if schema else json_response({"error": "no"}, 404)
        if path == "/api/objects":
            return self._list(request)
        if m := re.fullmatch(r"/api/objects/([^/]+)/([^/]+)", path):
            found = self.objects.get(f"{m.group(1)}:{m.group(2)}")
            if found:
                return json_response(found)
        return json_response({"error": "Object not found"}, 404)

    def _list(self, request: Request) -> Response:
        page = int(request.args.get("page", 1))
        size = int(request.args.get("size", 25))
        summaries = [
            {
                "pid": "category:agricultural",
                "title": "Agricultural Sciences",
                "type": "Category",
                "state": "Published",
            },  # fmt: skip
            *(
                {
                    "pid": pid,
                    "title": o.get("metadata", {}).get("base", {}).get("title"),
                    "description": "...",
                    "createdDate": o.get("created"),
                    "state": "Published",
                    "url": o["links"].get("landing"),
                    "type": o["properties"]["type"].capitalize(),
                }
                for pid, o in sorted(self.objects.items())
            ),
        ]
        pages = max(1, -(-len(summaries) // size))
        chosen = summaries[(page - 1) * size : page * size]
        links = {
            "self": f"{request.base_url}?page={page}",
            "first": f"{request.base_url}?page=1",
            "last": f"{request.base_url}?page={pages}",
        }
        if page < pages:
            links["next"] = f"{request.base_url}?page={page + 1}&size={size}"
        return json_response(
            {
                "params": {
                    "query": "*",
                    "type": "",
                    "page": page,
                    "size": size,
                    "start": (page - 1) * size + 1,
                    "end": page * size,
                    "pages": pages,
                },
                "hits": {"hits": chosen, "total": len(summaries)},
                "links": links,
            }
        )


def surf_object(oid: str, title: str, community: str = "surf", **base: Any) -> dict:
    """A published deposit exactly in the shape of the reference's submit response."""
    return {
        "$schema": "https://sdr.example.org/static/schemas/object-metadata",
        "id": oid,
        "created": "2021-03-05T15:25:24.331000Z",
        "updated": "2021-03-05T17:21:57.448000Z",
        "properties": {
            "namespace": "deposit",
            "pid": f"deposit:{oid}",
            "epicpid": f"21.T12996/{oid}",
            "doi": f"10.21945/SURF-image.1f9b3206-{oid}",
            "type": "deposit",
            "state": base.pop("state", "published"),
            "sharelevel": "open",
            "owner": "user:86",
        },
        "links": {
            "self": f"https://sdr.example.org/api/objects/deposit/{oid}",
            "landing": f"https://sdr.example.org/deposit/{oid}",
            "relationships": {
                "community": f"https://sdr.example.org/api/objects/community/{community}"
            },
            "files": f"https://sdr.example.org/api/objects/deposit/{oid}/files",
        },
        "metadata": {
            "base": {
                "$schema": "https://sdr.example.org/api/objects/schema/dublin",
                "title": title,
                "creator": ["Test creator", "Test unique"],
                "description": "Test description",
                "type": "Dataset",
                "subject": ["Test", "REST API"],
                "rights": [{"name": "Public Domain (PD)"}, "info:eu-repo/semantics/openAccess"],
                "date": "2021-01-01",
                **base,
            },
            "community": {"datatype": "images", "study": "survey"},
        },
    }


# -- metastore2 ----------------------------------------------------------------------


class MetastoreApp:
    """/api/v2/metadata/ (0-based pages, Content-Range) and each document by id."""

    def __init__(self, entries: list[tuple[dict, bytes, str]], size_cap: int = 10_000) -> None:
        self.entries = {e[0]["id"]: e for e in entries}
        self.size_cap = size_cap  # servers clamp the page size silently

    def __call__(self, request: Request) -> Response:
        path = request.path
        if path.rstrip("/") == "/metastore/api/v2/metadata":
            page = int(request.args.get("page", 0))
            size = min(int(request.args.get("size", 20)), self.size_cap)
            since = request.args.get("from")
            records = [e[0] for e in self.entries.values()]
            if since:
                records = [r for r in records if _when(r["lastUpdate"]) >= _when(since)]
            chosen = records[page * size : (page + 1) * size]
            last = page * size + max(len(chosen) - 1, 0)
            return json_response(
                chosen, headers={"Content-Range": f"{page * size}-{last}/{len(records)}"}
            )
        if m := re.fullmatch(r"/metastore/api/v2/metadata/([^/]+)", path):
            entry = self.entries.get(m.group(1))
            if entry is not None:
                return Response(entry[1], 200, content_type=entry[2])
        return json_response({"status": 404, "error": "Not Found"}, 404)


def metastore_record(rid: str, schema: str, title: str, updated: str) -> dict:
    """A metadata record exactly in the shape of the reference listing."""
    return {
        "id": rid,
        "identifier": {"id": 3, "value": "(:tba)", "identifierType": "DOI"},
        "creators": [{"id": 3, "givenName": "SELF"}],
        "titles": [{"id": 3, "value": title}],
        "publisher": "SELF",
        "publicationYear": "2024",
        "resourceType": {"id": 3, "value": "XML_Metadata", "typeGeneral": "MODEL"},
        "dates": [{"id": 3, "value": "2024-11-25T13:50:12Z", "type": "CREATED"}],
        "relatedIdentifiers": [
            {
                "id": 2,
                "identifierType": "URL",
                "value": "https://repo/anyResourceId",
                "relationType": "IS_METADATA_FOR",
            },  # fmt: skip
            {
                "id": 3,
                "identifierType": "URL",
                "value": f"http://localhost:8040/metastore/api/v2/schemas/{schema}?version=2",
                "relationType": "HAS_METADATA",
            },  # fmt: skip
        ],
        "alternateIdentifiers": [{"id": 3, "value": rid, "identifierType": "INTERNAL"}],
        "version": "2",
        "lastUpdate": updated,
        "state": "VOLATILE",
        "acls": [{"id": 5, "sid": "guest", "permission": "READ"}],
    }


# -- perfSONAR UNIS ------------------------------------------------------------------


class UnisApp:
    """GET /metadata with limit/skip and the ts=gt= filter, and /metadata/<id>."""

    def __init__(self, objects: list[dict], limit_cap: int | None = None) -> None:
        self.objects = objects
        self.limit_cap = limit_cap

    def __call__(self, request: Request) -> Response:
        if m := re.fullmatch(r"/metadata/([^/]+)", request.path):
            found = [o for o in self.objects if o["id"] == m.group(1)]
            return json_response(found[0]) if found else json_response({"error": "gone"}, 404)
        if request.path.rstrip("/") != "/metadata":
            return json_response({"error": "not found"}, 404)
        objects = self.objects
        if (ts := request.args.get("ts", "")).startswith("gt="):
            objects = [o for o in objects if o.get("ts", 0) > int(ts[3:])]
        skip = int(request.args.get("skip", 0))
        limit = int(request.args.get("limit", 0)) or len(objects)
        limit = min(limit, self.limit_cap or limit)
        return Response(
            json.dumps(objects[skip : skip + limit]),
            200,
            content_type="application/perfsonar+json ;profile=http://unis.incntre.iu.edu/schema/20120709/metadata#",
        )


def unis_object(uid: str, ts: int, port: int = 1) -> dict:
    """A metadata object exactly as the reference's 201 response shows it."""
    return {
        "$schema": "http://unis.incntre.iu.edu/schema/20120709/metadata#",
        "ts": ts,
        "id": uid,
        "selfRef": f"https://example.com/metadata/{uid}",
        "subject": {"href": f"https://example.com/ports/{port}", "rel": "full"},
        "eventType": "some event type",
        "parameters": {
            "collectionInterval": 30000,
            "datumSchema": "http://unis.incntre.iu.edu/schema/20120709/datum#",
        },
    }


# -- generic JSON (MDM-style records) ------------------------------------------------


def mdm_record(product_id: str, title: str, *, deleted: bool = False, **attrs: str) -> dict:
    """A record in the MDM record model (mdm-add-record.txt): attributes [{name, value}]."""
    attributes = {"title": title, "creator": "Doe, Jane", "year": "2021", **attrs}
    return {
        "productId": product_id,
        "productIdExt": f"ext-{product_id}",
        "version": "1",
        "state": "ACTIVE",
        "key": 0,
        "attributes": [
            {
                "name": name,
                "value": value,
                "displayName": name.title(),
                "multivalues": [{}],
                "type": 0,
                "id": n,
                "multivalue": False,
            }  # fmt: skip
            for n, (name, value) in enumerate(attributes.items())
        ],
        "repositoryName": "datasets",
        "deleted": deleted,
    }


class JsonApp:
    """A paginated JSON list at /records in one of the generic paging styles, and each record
    at /records/<productId>. ``size_cap`` clamps page sizes, as many servers do silently."""

    def __init__(self, records: list[dict], style: str, size_cap: int = 1000) -> None:
        self.records = records
        self.style = style
        self.size_cap = size_cap

    def __call__(self, request: Request) -> Response:
        if m := re.fullmatch(r"/records/([^/]+)", request.path):
            found = [r for r in self.records if r["productId"] == m.group(1)]
            return json_response(found[0]) if found else json_response({"message": "gone"}, 404)
        if request.path != "/records":
            return json_response({"message": "not found"}, 404)
        args = request.args
        if self.style == "page":
            size = min(int(args.get("size", 10)), self.size_cap)
            start = (int(args.get("page", 1)) - 1) * size
            return json_response(
                {
                    "data": {"items": self.records[start : start + size]},
                    "total": len(self.records),
                }  # fmt: skip
            )
        if self.style == "offset":
            limit = min(int(args.get("limit", 10)), self.size_cap)
            start = int(args.get("offset", 0))
            return json_response(self.records[start : start + limit])
        start = int(args.get("cursor", 0) or 0)
        chosen = self.records[start : start + 3]
        following = start + 3 if start + 3 < len(self.records) else None
        if self.style == "cursor":
            return json_response({"records": chosen, "next_cursor": following})
        link = f"{request.base_url}?cursor={following}" if following is not None else None
        return json_response({"records": chosen, "links": {"next": link}})
