"""``/sitemap.xml`` (one file, or a sitemap index past 50,000 records), its pages
``/sitemaps/<n>.xml``, and ``/robots.txt`` pointing to it.

Every live record's landing page is listed once, with its datestamp as ``lastmod``;
tombstones are left out (they answer 410).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from xml.sax.saxutils import escape

from flask import Blueprint, Response, abort, current_app, url_for

from catalogue.store.sitemap import count_live, live_entries
from catalogue.web.services import services

bp = Blueprint("sitemap", __name__)

NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
# The sitemap protocol's limit per file; tests lower it through app.config.
MAX_URLS = 50_000


def _per_file() -> int:
    return int(current_app.config.get("SITEMAP_MAX_URLS", MAX_URLS))


@bp.get("/sitemap.xml")
def sitemap() -> Response:
    engine = services().store.engine
    total = count_live(engine)
    per_file = _per_file()
    if total <= per_file:
        return _xml(_urlset(engine, 0, per_file))
    files = -(-total // per_file)
    body = [f'<?xml version="1.0" encoding="UTF-8"?>\n<sitemapindex xmlns="{NS}">\n']
    for n in range(1, files + 1):
        loc = url_for("sitemap.sitemap_file", n=n, _external=True)
        body.append(f"<sitemap><loc>{escape(loc)}</loc></sitemap>\n")
    body.append("</sitemapindex>\n")
    return _xml(iter(body))


@bp.get("/sitemaps/<int:n>.xml")
def sitemap_file(n: int) -> Response:
    engine = services().store.engine
    per_file = _per_file()
    if n < 1 or (n - 1) * per_file >= max(count_live(engine), 1):
        abort(404)
    return _xml(_urlset(engine, (n - 1) * per_file, per_file))


def _urlset(engine, skip: int, limit: int) -> Iterator[str]:
    # url_for once: a landing page URL is the same prefix plus the id
    marker = "RECORD-ID"
    template = url_for("records.landing_page", rid=marker, _external=True)
    yield f'<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="{NS}">\n'
    for rid, datestamp in live_entries(engine, skip=skip, limit=limit):
        loc = escape(template.replace(marker, rid))
        yield f"<url><loc>{loc}</loc><lastmod>{_w3c(datestamp)}</lastmod></url>\n"
    yield "</urlset>\n"


def _w3c(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _xml(chunks: Iterator[str]) -> Response:
    return Response("".join(chunks), content_type="application/xml; charset=utf-8")


@bp.get("/robots.txt")
def robots() -> Response:
    lines = [
        "User-agent: *",
        "Allow: /records/",
        # endless combinations of facets and pages: crawl the landing pages instead
        "Disallow: /search",
        "Disallow: /api/",
        "Disallow: /oai",
        f"Sitemap: {url_for('sitemap.sitemap', _external=True)}",
    ]
    return Response("\n".join(lines) + "\n", content_type="text/plain; charset=utf-8")
