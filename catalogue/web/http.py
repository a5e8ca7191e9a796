"""Cross-cutting HTTP behaviour of the app: CORS on the read API, gzip for responses
without a strong validator, and JSON bodies written by orjson."""

from __future__ import annotations

from typing import Any

import orjson
from flask import Flask, Response, request
from flask.json.provider import DefaultJSONProvider
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


class JSONProvider(DefaultJSONProvider):
    """Flask's JSON provider, writing with orjson (a page of search hits took ~10% of the
    request in json's encoder): keys in insertion order, non-ASCII as UTF-8 rather than
    \\u escapes. Dates, dataclasses and anything orjson does not know go through Flask's
    ``default``; what orjson refuses (a lone surrogate, an integer past 64 bits) and the
    indented debug output go through json as before."""

    sort_keys = False
    _OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        if "indent" not in kwargs:
            try:
                return orjson.dumps(obj, default=self.default, option=self._OPTIONS).decode()
            except orjson.JSONEncodeError:
                pass
        return super().dumps(obj, **kwargs)


def install(app: Flask) -> None:
    app.json = JSONProvider(app)
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
        # Flask-Compress picks gzip even when the client refused it ("gzip;q=0")
        if request.accept_encodings["gzip"] == 0:
            return response
        return compress.after_request(response)
