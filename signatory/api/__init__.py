"""JSON API v1 under ``/api/v1``: public fields only, documented by its OpenAPI document."""

from __future__ import annotations

from flask import Blueprint, Flask

from signatory.api import http, views
from signatory.core.access import declare


def init_app(app: Flask) -> None:
    """The API's own blueprint, its routes and how every answer behaves."""
    api = declare(Blueprint("api", __name__), "api")
    views.routes.register(api)
    http.install(api)
    app.register_blueprint(api, url_prefix="/api/v1")
