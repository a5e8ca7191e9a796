"""The admin pages under /admin: sign in with an admin token, then run the sources from a
browser (the same store calls and checks as the admin API, rendered on the server).

The session is Flask's signed cookie, HttpOnly and SameSite=Strict, holding the admin
token's id (never its secret) and a CSRF token that every form carries back; a revoked
token ends the session at its next request. Pages that show a running run refresh
themselves (a ``<noscript>`` meta refresh; with JavaScript, ``admin.js`` polls a small
JSON view and updates the counts in place).
"""

from __future__ import annotations

import hmac
import json
import re
import secrets
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from catalogue.source_fields import RESTART_FIELDS, check_source
from catalogue.store import SourceExists, SourceHeld
from catalogue.web.admin_quality import quality_report, runs_chart_svg
from catalogue.web.deposit import read_clean_json
from catalogue.web.errors import ApiError
from catalogue.web.services import services
from harvester.harvest import SOURCE_TYPES

bp = Blueprint("admin_pages", __name__, url_prefix="/admin")

SESSION_HOURS = 8


@bp.record_once
def _configure(state: Any) -> None:
    settings = state.app.extensions["catalogue"].settings
    # Secure when the catalogue is served over https (its public URL says so).
    public = settings.oai.base_url
    state.app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_SECURE=public.startswith("https://"),
        PERMANENT_SESSION_LIFETIME=timedelta(hours=SESSION_HOURS),
    )


def _csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


@bp.app_context_processor
def _admin_context() -> dict[str, Any]:
    return {"csrf_token": _csrf_token}


@bp.before_request
def _check_csrf() -> None:
    if request.method == "POST":
        sent = request.form.get("csrf", "")
        expected = session.get("csrf", "")
        if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
            abort(400, description="The form's CSRF token is missing or stale; reload the page.")


def _signed_in() -> bool:
    token_id = session.get("admin")
    if token_id is None:
        return False
    token = next((t for t in services().store.list_tokens() if t.id == token_id), None)
    if token is None or token.revoked_at is not None or token.role != "admin":
        session.clear()
        return False
    return True


def admin_page(view: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not _signed_in():
            return redirect(url_for("admin_pages.login", next=request.path))
        return view(*args, **kwargs)

    return wrapped


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    error = None
    if request.method == "POST":
        secret = request.form.get("token", "").strip()
        token = services().store.find_token(secret) if 0 < len(secret) <= 200 else None
        if token is not None and token.role == "admin":
            session.clear()
            session.permanent = True
            session["admin"] = token.id
            session["admin_name"] = token.name
            _csrf_token()
            target = request.args.get("next", "")
            if not target.startswith("/admin") or target.startswith("//"):
                target = url_for("admin_pages.sources")
            return redirect(target)
        error = "That is not a valid admin token."
    status = 401 if error else 200
    return render_template("admin/login.html", error=error), status


@bp.post("/logout")
def logout() -> Response:
    session.clear()
    return redirect(url_for("admin_pages.login"))


# -- sources -----------------------------------------------------------------------


@bp.get("/")
@admin_page
def sources() -> str:
    from catalogue.scheduler import next_runs

    store = services().store
    upcoming = next_runs(store)
    rows = []
    for source in store.list_sources():
        runs = store.list_runs(source.key, limit=20)
        failures = 0
        for run in runs:  # failed runs in a row, newest first
            if run.status != "failed":
                break
            failures += 1
        rows.append(
            {
                "source": source,
                "next_run": upcoming.get(source.key) if source.enabled else None,
                "last": runs[0] if runs else None,
                "records": store.count_records(source.key),
                "failures": failures,
            }
        )
    return render_template("admin/sources.html", rows=rows)


def _form_values(form: Any, *, new: bool) -> tuple[dict[str, Any], dict[str, str]]:
    """The source fields of a submitted form (config as JSON text) and their problems."""
    values: dict[str, Any] = {
        "url": form.get("url", "").strip(),
        "type": form.get("type", "oai"),
        "metadata_prefix": form.get("metadata_prefix", "").strip() or None,
        "sets": form.get("sets", "").split(),
        "schedule": form.get("schedule", "").strip() or None,
    }
    if new:
        values["key"] = form.get("key", "").strip()
    problems: dict[str, str] = {}
    config_text = form.get("config", "").strip()
    if config_text:
        try:  # as strict as the admin API: no NaN, duplicate names or absurd nesting
            values["config"] = read_clean_json(config_text.encode(), "config")
        except ApiError as exc:
            problems["config"] = "; ".join(
                f"{e['field']}: {e['message']}" if e["field"] else e["message"] for e in exc.errors
            )
    else:
        values["config"] = {}
    return values, problems


def _probe(values: dict[str, Any]) -> Any:
    from harvester.probe import probe_source

    harvest = services().settings.harvest
    return probe_source(values.get("type", "oai"), values["url"], harvest, values.get("config"))


@bp.route("/sources/new", methods=["GET", "POST"])
@admin_page
def new_source() -> Any:
    form: dict[str, Any] = {"type": "oai"}
    problems: dict[str, str] = {}
    probe = None
    if request.method == "POST":
        form = request.form.to_dict()
        values, problems = _form_values(request.form, new=True)
        clean, field_problems = check_source(values, services().settings)
        problems.update(field_problems)
        if not problems and request.form.get("action") == "probe":
            probe = _probe(clean)
        elif not problems:
            try:
                services().store.add_source(
                    clean["key"], clean["type"], clean["url"],
                    metadata_prefix=clean.get("metadata_prefix"), sets=clean.get("sets", []),
                    config=clean.get("config"), schedule=clean.get("schedule"),
                )  # fmt: skip
            except SourceExists:
                problems["key"] = "a source with this key exists"
            else:
                return redirect(url_for("admin_pages.source", key=clean["key"]))
    status = 400 if problems else 200
    page = render_template(
        "admin/source_form.html", form=form, problems=problems, probe=probe, new=True,
        types=SOURCE_TYPES,
    )  # fmt: skip
    return page, status


@bp.route("/sources/<key>/edit", methods=["GET", "POST"])
@admin_page
def edit_source(key: str) -> Any:
    store = services().store
    source = store.get_source(key) or abort(404)
    form: dict[str, Any] = {
        "url": source.url,
        "type": source.type,
        "metadata_prefix": source.metadata_prefix or "",
        "sets": " ".join(source.sets),
        "schedule": source.schedule or "",
        "config": json.dumps(source.config, indent=2) if source.config else "",
    }
    problems: dict[str, str] = {}
    probe = None
    if request.method == "POST":
        form = request.form.to_dict()
        values, problems = _form_values(request.form, new=False)
        clean, field_problems = check_source(values, services().settings, current=vars(source))
        problems.update(field_problems)
        if not problems and request.form.get("action") == "probe":
            probe = _probe({**clean, "type": clean.get("type", source.type)})
        elif not problems:
            changed = {k: v for k, v in clean.items() if getattr(source, k) != v}
            if any(k in RESTART_FIELDS for k in changed):
                changed["harvest_from"] = None
            if changed:
                store.update_source(key, **changed)
            return redirect(url_for("admin_pages.source", key=key))
    status = 400 if problems else 200
    page = render_template(
        "admin/source_form.html", form=form, problems=problems, probe=probe, new=False,
        key=key, types=SOURCE_TYPES,
    )  # fmt: skip
    return page, status


@bp.get("/sources/<key>")
@admin_page
def source(key: str) -> str:
    from catalogue.scheduler import next_runs

    store = services().store
    src = store.get_source(key) or abort(404)
    runs = store.list_runs(key, limit=50)
    return render_template(
        "admin/source.html",
        source=src,
        runs=runs,
        records=store.count_records(key),
        next_run=next_runs(store).get(key) if src.enabled else None,
        busy=any(r.status in ("queued", "running") for r in runs[:3]),
    )


@bp.post("/sources/<key>/run")
@admin_page
def harvest_now(key: str) -> Response:
    store = services().store
    store.get_source(key) or abort(404)
    mode = "full" if request.form.get("mode") == "full" else "incremental"
    busy = next((r for r in store.list_runs(key, limit=5) if r.status in ("queued", "running")),
                None)  # fmt: skip
    if busy is not None:
        store.reap_dead_runs()
        busy = store.get_run(busy.id)
    if busy is not None and busy.status in ("queued", "running"):
        return redirect(url_for("admin_pages.run", key=key, run_id=busy.id))
    run_id = store.queue_run_once(key, mode)
    if run_id is None:  # queued by someone else since the check above
        return redirect(url_for("admin_pages.source", key=key))
    queue = current_app.extensions.get("run_queue")
    if queue is not None:
        queue.wake()
    return redirect(url_for("admin_pages.run", key=key, run_id=run_id))


@bp.post("/sources/<key>/pause")
@admin_page
def pause(key: str) -> Response:
    store = services().store
    src = store.get_source(key) or abort(404)
    store.update_source(key, enabled=not src.enabled)
    return redirect(url_for("admin_pages.source", key=key))


@bp.route("/sources/<key>/delete", methods=["GET", "POST"])
@admin_page
def delete_source(key: str) -> Any:
    store = services().store
    src = store.get_source(key) or abort(404)
    busy = None
    if request.method == "POST":
        try:
            store.remove_idle_source(key)
        except SourceHeld as exc:
            busy = f"{exc}; delete it when the run has ended."
        else:
            return redirect(url_for("admin_pages.sources"))
    page = render_template(
        "admin/delete.html", source=src, records=store.count_records(key), busy=busy
    )
    return (page, 409) if busy else page


# -- runs ------------------------------------------------------------------------------

_VARYING = re.compile(r"'[^']*'|\"[^\"]*\"|\b[0-9a-f]{8,}\b|\d+")


def grouped_errors(errors: list[Any], examples: int = 3) -> list[dict[str, Any]]:
    """Errors by (severity, stage, reason with its varying parts blanked), largest first,
    each with a few example records."""
    groups: dict[tuple[str, str, str], dict[str, Any]] = {}
    for error in errors:
        shape = _VARYING.sub("…", error.reason)[:200]
        group = groups.setdefault(
            (error.severity, error.stage, shape),
            {"severity": error.severity, "stage": error.stage, "reason": error.reason,
             "count": 0, "examples": []},
        )  # fmt: skip
        group["count"] += 1
        if len(group["examples"]) < examples and error.source_id:
            group["examples"].append(error.source_id)
    return sorted(groups.values(), key=lambda g: (g["severity"] != "error", -g["count"]))


@bp.get("/sources/<key>/runs/<int:run_id>")
@admin_page
def run(key: str, run_id: int) -> str:
    store = services().store
    found = store.get_run(run_id)
    if found is None or found.source != key:
        abort(404)
    errors = store.run_errors(run_id)
    return render_template(
        "admin/run.html",
        key=key,
        run=found,
        groups=grouped_errors(errors),
        errors_total=len(errors),
        live=found.status in ("queued", "running"),
    )


@bp.get("/sources/<key>/runs/<int:run_id>/status.json")
@admin_page
def run_status(key: str, run_id: int) -> Response:
    found = services().store.get_run(run_id)
    if found is None or found.source != key:
        abort(404)
    return jsonify({"status": found.status, "counts": vars(found.counts)})


# -- mapping quality --------------------------------------------------------------------


@bp.get("/sources/<key>/quality")
@admin_page
def quality(key: str) -> str:
    store = services().store
    src = store.get_source(key) or abort(404)
    runs = store.list_runs(key, limit=200)
    warnings: Counter[str] = Counter()
    for past in runs[:20]:
        for error in store.run_errors(past.id):
            if error.severity == "warning":
                warnings[_VARYING.sub("…", error.reason)[:160]] += 1
    return render_template(
        "admin/quality.html",
        source=src,
        report=quality_report(store, key),
        top_warnings=warnings.most_common(10),
        chart=runs_chart_svg(list(reversed(runs))),
    )
