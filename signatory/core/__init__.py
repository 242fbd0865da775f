"""What every module builds on and that knows nothing of letters or signatures.

Configuration, the extensions, the database engine, the web layer (error pages, headers,
downloads), the sides of the site and their access policies, the interface languages
and reference lists, text, tokens, domains and time. Nothing here imports the domain.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from signatory.core import i18n, tokens
from signatory.core.database import RowNumberConverter, configure_engines
from signatory.core.extensions import csrf, db, limiter, migrate


def init_app(app: Flask, *, migrations: Path) -> None:
    """Bind the extensions, the interface languages and the token maker to ``app``."""
    # Before any module adds its routes: every <int:…> in a URL is bounded to a row number.
    app.url_map.converters["int"] = RowNumberConverter
    db.init_app(app)
    migrate.init_app(app, db, directory=str(migrations))
    csrf.init_app(app)
    limiter.init_app(app)
    i18n.init_app(app)  # the interface in English, French and Spanish; the language menu
    configure_engines(app)
    tokens.init_app(app)
