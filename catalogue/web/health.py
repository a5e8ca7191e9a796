"""``GET /health``: is the store reachable, is the index readable and how far behind it is."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, jsonify

from catalogue.search.base import SchemaMismatch
from catalogue.web.services import services

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)


@bp.get("/health")
def health() -> Response:
    svc = services()
    checks: dict[str, Any] = {}
    healthy = True
    try:
        last_seq = svc.store.last_seq()
        checks["database"] = {"status": "ok"}
    except Exception as exc:  # any failure of the store is the answer here, not a 500
        log.warning("health: database check failed: %s", exc)
        checks["database"] = {"status": "error", "message": type(exc).__name__}
        healthy, last_seq = False, None
    try:
        index = svc.fresh_index()
        applied = index.checkpoint()
        checks["index"] = {"status": "ok", "documents": index.count(), "checkpoint": applied}
        if last_seq is not None:
            checks["index"]["behind"] = max(0, last_seq - applied)
    except SchemaMismatch:
        # built with another schema: the indexer rebuilds it (searches answer 503 till then)
        checks["index"] = {"status": "rebuilding", "message": "the search index is being rebuilt"}
        healthy = False
    except Exception as exc:
        log.warning("health: index check failed: %s", exc)
        checks["index"] = {"status": "error", "message": type(exc).__name__}
        healthy = False
    response = jsonify({"status": "ok" if healthy else "error", "checks": checks})
    response.status_code = 200 if healthy else 503
    response.headers["Cache-Control"] = "no-store"
    return response
