"""The admin API of harvest sources and their runs.

Listing sources and their runs is public (as it always was); everything else needs an
admin token: creating, reading (with config), editing, pausing and removing a source,
starting a run and reading it, and probing a would-be source.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request, url_for

from catalogue.source_fields import RESTART_FIELDS, check_source
from catalogue.store import HarvestRun, Source, SourceExists, SourceHeld, SourceNotFound
from catalogue.web.auth import require_role
from catalogue.web.deposit import read_clean_json
from catalogue.web.errors import ApiError
from catalogue.web.services import services
from harvester.url_policy import public_url, redact_url_secrets
from mappings.numbers import ascii_int

bp = Blueprint("admin", __name__)


def source_json(source: Source, last_run: HarvestRun | None, records: int) -> dict[str, Any]:
    return {
        "key": source.key,
        "type": source.type,
        "url": public_url(source.url),  # never the credentials a URL may carry
        "metadata_prefix": source.metadata_prefix,
        "sets": source.sets,
        "enabled": source.enabled,
        "schedule": source.schedule,
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
    """The newest runs first, ``size`` (default 50, at most 200) a page; ``links.next``
    carries on with the older ones (``before`` = the last run id of the page)."""
    store = services().store
    size, before = _runs_page_args()
    source = store.get_source(key)
    if source is None:
        raise ApiError(404, f"no source {key!r}")
    runs = []
    page = store.list_runs(key, limit=size + 1, before=before)
    for run in page[:size]:
        item = run_json(run, source.url)
        item["errors"] = [
            {**vars(e), "reason": redact_url_secrets(e.reason, source.url)}
            for e in store.run_errors(run.id)[:100]
        ]
        runs.append(item)
    links = {}
    if len(page) > size:
        links["next"] = url_for(
            "admin.list_runs", key=key, size=size, before=page[size - 1].id, _external=True
        )
    return jsonify({"runs": runs, "links": links})


MAX_RUNS_PAGE = 200


def _runs_page_args() -> tuple[int, int | None]:
    problems = [
        {"field": name, "message": "unknown parameter; allowed: before, size"}
        for name in request.args
        if name not in ("size", "before")
    ]
    size = ascii_int(request.args.get("size", "50"), max_digits=4)
    if size is None or not 1 <= size <= MAX_RUNS_PAGE:
        problems.append({"field": "size", "message": f"a whole number from 1 to {MAX_RUNS_PAGE}"})
    before = None
    if "before" in request.args:
        before = ascii_int(request.args["before"])
        if before is None or before < 1:
            problems.append({"field": "before", "message": "a run id"})
    if problems:
        raise ApiError(400, "invalid query parameters", problems)
    return size or 50, before


# -- the admin API: sources and runs (admin token) ---------------------------------

ADMIN = frozenset({"admin"})
RUN_MODES = ("incremental", "full")
MAX_RUN_ERRORS = 200


def _admin() -> None:
    require_role(ADMIN)


def _body() -> dict[str, Any]:
    if request.mimetype != "application/json":
        raise ApiError(
            415,
            f"unsupported Content-Type {request.mimetype or '(none)'!r}",
            [{"field": "Content-Type", "message": "use application/json"}],
        )
    doc = read_clean_json(request.get_data(cache=True))
    if not isinstance(doc, dict):
        raise ApiError(400, "the body is a JSON object", [{"field": "", "message": "an object"}])
    return doc


def _no_query() -> None:
    if request.args:
        raise ApiError(
            400,
            "invalid query parameters",
            [{"field": name, "message": "unknown parameter"} for name in request.args],
        )


def _field_errors(problems: dict[str, str]) -> ApiError:
    names = ", ".join(sorted(problems))
    return ApiError(
        400,
        f"invalid source: {names}",
        [{"field": f"/{name}", "message": text} for name, text in sorted(problems.items())],
    )


def _redacted(config: dict[str, Any]) -> dict[str, Any]:
    """A source's config as shown: an inline access token is never shown again."""
    shown = dict(config)
    auth = shown.get("auth")
    if isinstance(auth, dict) and "token" in auth:
        shown["auth"] = {**auth, "token": "********"}
    return shown


def admin_source_json(source: Source) -> dict[str, Any]:
    from catalogue.scheduler import next_runs

    store = services().store
    runs = store.list_runs(source.key, limit=1)
    body = source_json(source, runs[0] if runs else None, store.count_records(source.key))
    body["config"] = _redacted(source.config)
    body["created_at"] = _iso(source.created_at)
    body["next_run"] = _iso(next_runs(store).get(source.key)) if source.enabled else None
    body["running"] = _active_run(source.key)
    body["links"] = {
        "self": url_for("admin.get_source", key=source.key, _external=True),
        "runs": url_for("admin.list_runs", key=source.key, _external=True),
    }
    return body


def _active_run(key: str) -> int | None:
    """The id of the source's queued or running run (dead holders' runs reaped first)."""
    store = services().store
    lease = store.get_lease(key)
    if lease is not None and lease.is_live():
        return lease.run_id or -1
    for run in store.list_runs(key, limit=5):
        if run.status == "queued":
            return run.id
        if run.status == "running":
            store.reap_dead_runs()
            fresh = store.get_run(run.id)
            if fresh is not None and fresh.status == "running":
                return run.id
    return None


def _source_or_404(key: str) -> Source:
    source = services().store.get_source(key)
    if source is None:
        raise ApiError(404, f"no source {key!r}")
    return source


@bp.post("/api/sources", strict_slashes=False)
def create_source() -> Response:
    _admin()
    _no_query()
    doc = _body()
    clean, problems = check_source(doc, services().settings)
    if problems:
        raise _field_errors(problems)
    store = services().store
    try:
        source = store.add_source(
            clean["key"],
            clean["type"],
            clean["url"],
            metadata_prefix=clean.get("metadata_prefix"),
            sets=clean.get("sets", []),
            config=clean.get("config"),
            schedule=clean.get("schedule"),
            enabled=clean.get("enabled", True),
        )
    except SourceExists as exc:
        raise ApiError(409, str(exc), [{"field": "/key", "message": "in use"}]) from exc
    response = jsonify(admin_source_json(source))
    response.status_code = 201
    response.headers["Location"] = url_for("admin.get_source", key=source.key)
    return response


@bp.get("/api/sources/<key>")
def get_source(key: str) -> Response:
    _admin()
    _no_query()
    return jsonify(admin_source_json(_source_or_404(key)))


@bp.patch("/api/sources/<key>")
def edit_source(key: str) -> Response:
    """Change any field but the key; the records stay as they are. Pausing (enabled false)
    keeps every record searchable and in OAI-PMH; a changed URL, type, prefix or sets makes
    the next run a full one."""
    _admin()
    _no_query()
    source = _source_or_404(key)
    doc = _body()
    if doc.get("key") == key:  # the whole source sent back: its key is not a change
        del doc["key"]
    clean, problems = check_source(doc, services().settings, current=vars(source))
    if problems:
        raise _field_errors(problems)
    changed = {k: v for k, v in clean.items() if getattr(source, k) != v}
    if any(k in RESTART_FIELDS for k in changed):
        changed["harvest_from"] = None
    if changed:
        source = services().store.update_source(key, **changed)
    return jsonify(admin_source_json(source))


@bp.delete("/api/sources/<key>")
def delete_source(key: str) -> Response:
    """Remove the source; its records become tombstones (as `catalogue sources remove`)."""
    _admin()
    _no_query()
    _source_or_404(key)
    if _active_run(key) is not None:
        raise ApiError(409, f"a run of source {key!r} is in progress; try again when it ends")
    try:
        deleted = services().store.remove_idle_source(key)
    except SourceNotFound as exc:
        raise ApiError(404, f"no source {key!r}") from exc
    except SourceHeld as exc:  # a run took the source since the check above
        raise ApiError(
            409, f"a run of source {key!r} is in progress; try again when it ends"
        ) from exc
    return jsonify({"key": key, "records_deleted": deleted})


@bp.post("/api/sources/<key>/runs")
def start_run(key: str) -> Response:
    """Queue a run ("harvest now"): a worker of `serve` or a scheduler starts it within
    seconds. 409 while a run of the source is queued or running."""
    _admin()
    _no_query()
    source = _source_or_404(key)
    doc = _body() if request.get_data(cache=True).strip() else {}
    problems = {name: "unknown field" for name in doc if name != "mode"}
    mode = doc.get("mode", "incremental")
    if mode not in RUN_MODES:
        problems["mode"] = f"one of {', '.join(RUN_MODES)}"
    if problems:
        raise ApiError(
            400,
            "invalid run request",
            [{"field": f"/{name}", "message": text} for name, text in sorted(problems.items())],
        )
    active = _active_run(source.key)
    if active is not None:
        raise ApiError(
            409,
            f"a run of source {key!r} is in progress",
            extra={"run": active} if active > 0 else None,
        )
    store = services().store
    run_id = store.queue_run_once(source.key, mode)
    if run_id is None:  # another request queued one since the check above
        raise ApiError(409, f"a run of source {key!r} is in progress")
    queue = current_app.extensions.get("run_queue")
    if queue is not None:
        queue.wake()
    response = jsonify(run_detail_json(store.get_run(run_id)))
    response.status_code = 202
    response.headers["Location"] = url_for("admin.get_run", key=key, run_id=run_id)
    return response


@bp.get("/api/sources/<key>/runs/<run_id>")
def get_run(key: str, run_id: str) -> Response:
    _admin()
    _no_query()
    number = ascii_int(run_id)
    run = services().store.get_run(number) if number is not None else None
    if run is None or run.source != key:
        raise ApiError(404, f"no run {run_id} of source {key!r}")
    return jsonify(run_detail_json(run))


def run_detail_json(run: HarvestRun) -> dict[str, Any]:
    body = run_json(run)
    errors = services().store.run_errors(run.id)
    body["errors"] = [vars(e) for e in errors[:MAX_RUN_ERRORS]]
    body["errors_total"] = len(errors)
    body["links"] = {
        "self": url_for("admin.get_run", key=run.source, run_id=run.id, _external=True)
    }
    return body


@bp.post("/api/sources/probe")
def probe() -> Response:
    """Contact a would-be source and report what it offers; nothing is saved."""
    from harvester.probe import probe_source

    _admin()
    _no_query()
    doc = _body()
    wanted = {k: v for k, v in doc.items() if k in ("url", "type", "metadata_prefix", "config")}
    problems = {name: "unknown field" for name in doc if name not in wanted}
    probe_fields = {"key": "probe", "type": "oai", **wanted}
    clean, field_problems = check_source(probe_fields, services().settings)
    problems.update(field_problems)
    if problems:
        raise _field_errors(problems)
    harvest = services().settings.harvest
    result = probe_source(clean["type"], clean["url"], harvest, clean.get("config"))
    return jsonify(result.as_dict())
