"""Swagger UI's files, served from the ``flask-swagger-ui`` package (offline, no CDN),
for the interactive API documentation at /api/docs."""

from __future__ import annotations

from pathlib import Path

import flask_swagger_ui
from flask import Blueprint, Response, send_from_directory

bp = Blueprint("api_docs_ui", __name__)

DIST = Path(flask_swagger_ui.__file__).resolve().parent / "dist"


@bp.get("/assets/swagger-ui/<path:filename>")
def asset(filename: str) -> Response:
    response = send_from_directory(DIST, filename, max_age=86400)
    return response
