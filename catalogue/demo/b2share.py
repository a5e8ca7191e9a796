"""A B2SHARE REST API replaying the bundled real B2SHARE records (``data/b2share``).

Serves what the ``b2share`` source type asks for: ``api/communities/`` and
``api/records/?q=&sort=mostrecent&size=&page=`` with ``links.next``, honouring the
``updated:[lo TO hi}`` clauses of the harvester's time windows (so the demo's second run
is incremental). Records are served as recorded, drafts included (the harvester skips them).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from importlib import resources
from typing import Any
from urllib.parse import urlencode

_FILES = (
    "record_all_metadata_fields.json",
    "record_published_bbmri_trng.json",
    "record_in_community.json",
    "record_from_search_hits.json",
)
_LIST_FILE = "v1_to_v2_upgrade_expected_records.json"
# updated:[lo TO hi}  or  updated:[lo TO *]  (the harvester's window clause)
_WINDOW = re.compile(r"updated:\[(?P<lo>\S+) TO (?P<hi>\S+?)[}\]]")

Response = tuple[int, dict[str, str], bytes]


def _read(name: str) -> Any:
    folder = resources.files("catalogue.demo").joinpath("data", "b2share")
    return json.loads(folder.joinpath(name).read_text(encoding="utf-8"))


def _when(value: str) -> datetime:
    """B2SHARE timestamps come with and without a zone and a 'T'; all are UTC."""
    parsed = datetime.fromisoformat(value.replace(" ", "T"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def load_records() -> list[dict[str, Any]]:
    """The recorded records, newest first (B2SHARE's ``sort=mostrecent``); one copy per id."""
    records = {}
    for record in [*(_read(name) for name in _FILES), *_read(_LIST_FILE)]:
        records[record["id"]] = record
    return sorted(records.values(), key=lambda r: (_when(r["updated"]), r["id"]), reverse=True)


class B2ShareReplay:
    """The API under a path prefix of the replay server (e.g. ``/b2share/``)."""

    def __init__(self, records: list[dict[str, Any]] | None = None) -> None:
        self.records = load_records() if records is None else records
        self.communities = [_read("community.json")]

    def respond(self, path: str, query: Mapping[str, list[str]], base: str) -> Response:
        """``path`` is relative to the prefix; ``base`` is the prefix's absolute URL."""
        if path.rstrip("/") == "api/communities":
            return _json({"hits": {"hits": self.communities, "total": len(self.communities)}})
        if path.rstrip("/") == "api/records":
            return self._search(query, base)
        return _json({"status": 404, "message": "The requested URL was not found."}, 404)

    def _search(self, query: Mapping[str, list[str]], base: str) -> Response:
        try:
            page = int(query.get("page", ["1"])[0])
            size = int(query.get("size", ["10"])[0])
        except ValueError:
            return _json({"status": 400, "message": "page and size must be integers"}, 400)
        if page < 1 or not 1 <= size <= 100:
            return _json({"status": 400, "message": "page or size out of range"}, 400)
        q = query.get("q", [""])[0]
        hits = [r for r in self.records if _in_windows(r, q)]
        body: dict[str, Any] = {
            "hits": {"hits": hits[(page - 1) * size : page * size], "total": len(hits)},
            "links": {"self": f"{base}api/records/?{urlencode({'q': q, 'page': page})}"},
        }
        if page < math.ceil(len(hits) / size):
            params = {"q": q, "sort": "mostrecent", "size": size, "page": page + 1}
            body["links"]["next"] = f"{base}api/records/?{urlencode(params)}"
        return _json(body)


def _in_windows(record: dict[str, Any], q: str) -> bool:
    updated = _when(record["updated"])
    for match in _WINDOW.finditer(q):
        lo, hi = match["lo"], match["hi"]
        if lo != "*" and updated < _when(lo):
            return False
        if hi != "*" and updated >= _when(hi):
            return False
    return True


def _json(data: Any, status: int = 200) -> Response:
    return status, {"Content-Type": "application/json"}, json.dumps(data).encode()
