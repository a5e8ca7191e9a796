"""The landing page: what this catalogue holds and where its interfaces are."""

from __future__ import annotations

from dataclasses import replace

from flask import Blueprint, render_template

from catalogue.web.services import services
from harvester.url_policy import public_url

bp = Blueprint("home", __name__)


@bp.get("/")
def home() -> str:
    store = services().store
    # shown to anyone: source URLs without the credentials they may carry
    sources = [
        (replace(s, url=public_url(s.url)), store.count_records(s.key))
        for s in store.list_sources()
    ]
    return render_template("home.html", sources=sources, total=store.count_records())
