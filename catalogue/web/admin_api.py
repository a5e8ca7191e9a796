"""Read-only admin API: harvest sources and their runs."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify

from catalogue.store import HarvestRun, Source
from catalogue.web.errors import ApiError
from catalogue.web.services import services
from harvester.url_policy import public_url, redact_url_secrets

bp = Blueprint("admin", __name__)


def source_json(source: Source, last_run: HarvestRun | None, records: int) -> dict[str, Any]:
    return {
        "key": source.key,
        "type": source.type,
        "url": public_url(source.url),  # never the credentials a URL may carry
        "metadata_prefix": source.metadata_prefix,
        "sets": source.sets,
        "enabled": source.enabled,
        "records": records,
        "harvest_from": _iso(source.harvest_from),
        "last_run": run_json(last_run, source.url) if last_run else None,
    }


def run_json(run: HarvestRun, source_url: str = "") -> dict[str, Any]:
    """A run as the API shows it; texts are redacted of the source URL's credentials
    (runs recorded before redaction existed may hold them)."""
    return {
        "id": run.id,
        "source": run.source,
        "mode": run.mode,
        "status": run.status,
        "started_at": _iso(run.started_at),
        "finished_at": _iso(run.finished_at),
        "from": _iso(run.from_date),
        "response_date": _iso(run.response_date),
        "counts": vars(run.counts),
        "message": redact_url_secrets(run.message, source_url) if run.message else run.message,
    }


def _iso(value: Any) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


@bp.get("/api/sources")
def list_sources() -> Response:
    store = services().store
    out = []
    for source in store.list_sources():
        runs = store.list_runs(source.key, limit=1)
        out.append(source_json(source, runs[0] if runs else None, store.count_records(source.key)))
    return jsonify({"sources": out, "total": len(out)})


@bp.get("/api/sources/<key>/runs")
def list_runs(key: str) -> Response:
    store = services().store
    source = store.get_source(key)
    if source is None:
        raise ApiError(404, f"no source {key!r}")
    runs = []
    for run in store.list_runs(key, limit=50):
        item = run_json(run, source.url)
        item["errors"] = [
            {**vars(e), "reason": redact_url_secrets(e.reason, source.url)}
            for e in store.run_errors(run.id)[:100]
        ]
        runs.append(item)
    return jsonify({"runs": runs})
