"""Cross-cutting HTTP behaviour of the app: CORS on the read API and gzip for responses
without a strong validator."""

from __future__ import annotations

from flask import Flask, Response
from flask_compress import Compress
from flask_cors import CORS

COMPRESS_TYPES = [
    "text/html",
    "text/css",
    "text/plain",
    "text/xml",
    "application/json",
    "application/xml",
    "application/ld+json",
    "application/javascript",
]


def install(app: Flask) -> None:
    # Any origin may read the API (it is public); writes still need a bearer token, which
    # browsers never send cross-origin on their own (no cookies are used).
    CORS(
        app,
        resources={r"/api/*": {"origins": "*"}, r"/records/*": {"origins": "*"}},
        expose_headers=["ETag", "Location", "Link", "Content-Disposition"],
        max_age=86400,
        send_wildcard=True,
    )
    app.config.setdefault("COMPRESS_REGISTER", False)
    app.config.setdefault("COMPRESS_MIMETYPES", COMPRESS_TYPES)
    app.config.setdefault("COMPRESS_ALGORITHM", ["gzip"])
    app.config.setdefault("COMPRESS_MIN_SIZE", 1024)
    app.config.setdefault("COMPRESS_LEVEL", 5)
    compress = Compress()
    compress.init_app(app)

    @app.after_request
    def _gzip(response: Response) -> Response:
        # Flask-Compress rewrites a strong ETag to "<etag>:gzip", which If-Match on the
        # ingest API would then refuse: responses with a validator go out as they are.
        if response.headers.get("ETag") or response.headers.get("Content-Encoding"):
            return response
        return compress.after_request(response)
