"""The seed systems' own client APIs, one module each (UNIS, metastore2, MDM): their
requests taken as documented, answered as the original does, stored like every deposit."""

from __future__ import annotations

from typing import Any

from flask import Flask


def register(app: Flask) -> None:
    """Register every dialect's blueprint."""
    from catalogue.web.dialects import mdm, metastore, unis

    for module in (unis, metastore, mdm):
        app.register_blueprint(module.bp)


def openapi_paths() -> dict[str, Any]:
    """The OpenAPI path items of every dialect."""
    from catalogue.web.dialects import mdm, metastore, unis

    return {**unis.openapi_paths(), **metastore.openapi_paths(), **mdm.openapi_paths()}
