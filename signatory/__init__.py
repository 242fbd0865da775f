"""signatory: collaborative open letters with email-verified signatures.

``create_app`` builds everything, by a call to each module's ``init_app`` from the bottom
of the layers up (see docs/architecture.md); importing a module registers nothing.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app: configuration, extensions, every module's pages, emails and commands.

    A setting that cannot work raises ``ConfigRefused`` (a ``ConfigError``), which the
    ``flask`` command line prints as one line (``core.ops.startup``).
    """
    from signatory.core.config import ConfigError
    from signatory.core.ops.startup import ConfigRefused

    try:
        return _build(test_config)
    except ConfigError as error:
        raise ConfigRefused(str(error)) from error


def _build(test_config: dict[str, Any] | None) -> Flask:
    app = Flask(
        __name__,
        instance_path=os.environ.get("SIGNATORY_INSTANCE_PATH") or None,
        instance_relative_config=True,
        template_folder=str(PROJECT_ROOT / "templates"),
    )
    if test_config and test_config.get("INSTANCE_PATH"):
        app.instance_path = str(test_config["INSTANCE_PATH"])
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)

    from signatory.core import ops
    from signatory.core.config import load_config

    load_config(app, test_config)
    # The log lines and the request ids first, so whatever follows logs with them.
    ops.init_app(app)
    # The client's address is read through exactly PROXY_FIX proxies (a whole number, checked
    # by load_config); with 0, X-Forwarded-* headers are ignored, whoever sends them.
    if app.config["PROXY_FIX"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = app.config["PROXY_FIX"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]

    from signatory import (
        abuse,
        api,
        audit,
        caching,
        core,
        delivery,
        demo,
        imports,
        invites,
        letters,
        lists,
        mail,
        notifications,
        organizations,
        privacy,
        ratelimits,
        reconfirm,
        signatures,
        team,
        updates,
    )
    from signatory.core import web
    from signatory.core.access import Sides

    # ratelimits is imported above, before the limiter is bound in core.init_app: that
    # registers the SQLite file store's scheme with limits.
    core.init_app(app, migrations=PROJECT_ROOT / "migrations")
    ratelimits.init_app(app)
    caching.init_app(app)
    # The sides several modules share (public pages, signer links, the workspace): each
    # module adds its routes, then they are registered.
    sides = Sides.create()
    mail.init_app(app)
    notifications.init_app(app)
    team.init_app(app, sides)
    letters.init_app(app, sides)
    lists.init_app(app, sides)
    organizations.init_app(app, sides)
    updates.init_app(app, sides)
    invites.init_app(app, sides)
    signatures.init_app(app, sides)
    delivery.init_app(app, sides)
    audit.init_app(sides)
    abuse.init_app(app, sides)
    imports.init_app(app, sides)
    reconfirm.init_app(app, sides)
    privacy.init_app(app, sides)
    sides.register(app)
    api.init_app(app)
    demo.init_app(app)
    # Last, so its headers are set on every response the others have finished.
    web.init_app(app)
    return app
