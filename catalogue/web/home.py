"""The landing page: what this catalogue holds and where its interfaces are."""

from __future__ import annotations

from flask import Blueprint, render_template

from catalogue.web.services import services

bp = Blueprint("home", __name__)


@bp.get("/")
def home() -> str:
    store = services().store
    sources = [(s, store.count_records(s.key)) for s in store.list_sources()]
    return render_template("home.html", sources=sources, total=store.count_records())
