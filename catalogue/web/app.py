"""Flask application factory: one blueprint per surface."""

from __future__ import annotations

from flask import Flask, Response

from catalogue.config import Settings, load_settings
from catalogue.search.base import SearchIndex
from catalogue.search.indexer import open_index
from catalogue.store import Store
from catalogue.store.files import prepare_data_dir, prepare_database_file
from catalogue.web.errors import register_error_handlers
from catalogue.web.services import Services
from harvester.url_policy import INSTANCE_HEADER


def create_app(
    settings: Settings | None = None,
    *,
    store: Store | None = None,
    index: SearchIndex | None = None,
) -> Flask:
    """Build the app. ``settings`` default to ``load_settings()``; store and index are opened
    from them unless given (tests and ``catalogue serve`` share objects this way)."""
    settings = settings if settings is not None else load_settings()
    app = Flask(__name__)
    app.config["SECRET_KEY"] = settings.secret_key
    app.config["MAX_CONTENT_LENGTH"] = settings.max_request_bytes
    if store is None:
        prepare_data_dir(settings.data_dir)
        prepare_database_file(settings.database_url)
        store = Store(settings.database_url)
        store.migrate()
    if index is None:
        index = open_index(settings, writer=False)
    app.extensions["catalogue"] = Services(settings=settings, store=store, index=index)

    from catalogue.web import http
    from catalogue.web.admin_api import bp as admin_bp
    from catalogue.web.admin_pages import bp as admin_pages_bp
    from catalogue.web.api_docs_ui import bp as api_docs_ui_bp
    from catalogue.web.health import bp as health_bp
    from catalogue.web.ingest_api import bp as ingest_bp
    from catalogue.web.oai import bp as oai_bp
    from catalogue.web.openapi import bp as openapi_bp
    from catalogue.web.pages import bp as pages_bp
    from catalogue.web.records import bp as records_bp
    from catalogue.web.schemas_api import bp as schemas_bp
    from catalogue.web.search_api import bp as search_bp
    from catalogue.web.sitemap import bp as sitemap_bp

    app.register_blueprint(pages_bp)
    app.register_blueprint(records_bp)
    app.register_blueprint(sitemap_bp)
    app.register_blueprint(health_bp)
    app.register_blueprint(api_docs_ui_bp)
    app.register_blueprint(search_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(admin_pages_bp)
    app.register_blueprint(oai_bp)
    app.register_blueprint(ingest_bp)
    app.register_blueprint(schemas_bp)
    app.register_blueprint(openapi_bp)
    from catalogue.web import dialects

    dialects.register(app)
    register_error_handlers(app)
    own_id = settings.harvest.instance_id

    @app.after_request
    def _mark_instance(response: Response) -> Response:
        # Lets this catalogue's harvester recognise (and refuse) its own responses.
        response.headers[INSTANCE_HEADER] = own_id
        return response

    http.install(app)
    return app
