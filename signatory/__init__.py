"""signatory: collaborative open letters with email-verified signatures."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app: configuration, extensions, blueprints, commands and error pages."""
    app = Flask(
        __name__,
        instance_path=os.environ.get("SIGNATORY_INSTANCE_PATH") or None,
        instance_relative_config=True,
        template_folder=str(PROJECT_ROOT / "templates"),
    )
    if test_config and test_config.get("INSTANCE_PATH"):
        app.instance_path = str(test_config["INSTANCE_PATH"])
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)

    from signatory.core.config import load_config

    load_config(app, test_config)
    if app.config["PROXY_FIX"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = int(app.config["PROXY_FIX"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]

    from signatory.core.extensions import csrf, db, limiter, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"))
    csrf.init_app(app)
    limiter.init_app(app)

    from signatory.core import i18n

    i18n.init_app(app)  # the interface in English, French and Spanish; the language menu

    from signatory.core.database import configure_engines

    configure_engines(app)

    from signatory.core.tokens import Tokens

    app.extensions["signatory.tokens"] = Tokens(
        app.config["SECRET_KEY"],
        {
            "confirm": app.config["CONFIRM_TOKEN_MAX_AGE"],
            "withdraw": app.config["WITHDRAW_TOKEN_MAX_AGE"],
            "invite": app.config["INVITE_TOKEN_MAX_AGE"],
            "sign-in": app.config["RESET_TOKEN_MAX_AGE"],
        },
    )

    # Importing a blueprint's views registers its routes on it.
    from signatory.api.views import bp as api_bp
    from signatory.manage.views import bp as manage_bp
    from signatory.public.views import bp as public_bp
    from signatory.signing.views import bp as signing_bp

    app.register_blueprint(public_bp)
    app.register_blueprint(signing_bp)
    app.register_blueprint(api_bp, url_prefix="/api/v1")
    app.register_blueprint(manage_bp)

    from signatory.manage import access as manage_access

    manage_access.init_app(app)

    # Each feature registers its emails with the mail registry on import.
    from signatory import cli
    from signatory.core import web
    from signatory.signing import mail as _signing_mail  # noqa: F401

    web.init_app(app)
    cli.init_app(app)
    return app
