"""One JSON error shape for every API endpoint: {status, message, errors: [{field, message}]}.

Error lists and messages are capped (:mod:`catalogue.web.limits`): ``errors_omitted``
counts the field errors left out."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify, render_template, request
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from catalogue.store.engine import is_lock_timeout
from catalogue.web.limits import MAX_ERRORS, MAX_TOP_MESSAGE_CHARS, cap_errors, cap_items, shorten

log = logging.getLogger(__name__)

BUSY_RETRY_AFTER = 1
"""Seconds a client is asked to wait after a 503 for a busy database."""


class ApiError(Exception):
    """An error the client caused or must hear about, with its HTTP status."""

    def __init__(
        self,
        status: int,
        message: str,
        errors: list[dict[str, str]] | None = None,
        *,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors or []
        # e.g. WWW-Authenticate on a 401
        self.headers = headers or {}
        # more members of the body beside the standard ones (per-item results of a list)
        self.extra = extra or {}


def error_response(
    status: int,
    message: str,
    errors: list[dict[str, Any]] | None = None,
    extra: dict[str, Any] | None = None,
) -> Response:
    kept, omitted = cap_errors(errors or [], MAX_ERRORS)
    body: dict[str, Any] = {
        "status": status,
        "message": shorten(message, MAX_TOP_MESSAGE_CHARS),
        "errors": kept,
    }
    if omitted:
        body["errors_omitted"] = omitted
    for key, value in (extra or {}).items():
        body[key] = cap_items(value) if key == "items" and isinstance(value, list) else value
    response = jsonify(body)
    response.status_code = status
    return response


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError) -> Response:
        response = error_response(exc.status, exc.message, exc.errors, exc.extra)
        response.headers.update(exc.headers)
        return response

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response | HTTPException | tuple[str, int]:
        if not request.path.startswith("/api/"):
            if request.path.startswith("/oai") or not exc.code or exc.code < 400:
                return exc
            return render_template("error.html", error=exc), exc.code
        return error_response(exc.code or 500, exc.description or exc.name)

    @app.errorhandler(OperationalError)
    def _database_busy(exc: OperationalError) -> Response:
        if not is_lock_timeout(exc):
            return _unexpected(exc)
        # Another writer held the database longer than its lock timeout (SQLite): nothing
        # was written; the client may send the same request again.
        log.warning("database busy on %s %s: %s", request.method, request.path, exc.orig)
        response = error_response(503, "the database is busy with other writes; try again")
        response.headers["Retry-After"] = str(BUSY_RETRY_AFTER)
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        # A bug, not bad input: log the traceback, tell the client nothing internal.
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, "internal server error")
