"""A configuration that cannot work stops the process with one line naming the setting.

``create_app`` raises ``ConfigRefused``, a ``ConfigError`` that is also a click error: the
``flask`` command line prints it as ``Error: SIGNATORY_… must be …`` and exits 1, where
any other exception would print its traceback. ``wsgi.py`` turns it into one line on
stderr and gunicorn's "the app failed to load" status (``refuse_to_serve``), and
gunicorn.conf.py checks the configuration once in gunicorn's arbiter, before it binds the
port or starts a worker (``check_configuration``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import NoReturn

import click
from flask import Flask

from signatory.core.config import ConfigError, load_config
from signatory.core.ops.logs import log_format

# A worker exiting with this status makes gunicorn's arbiter stop ("App failed to load")
# instead of starting the worker again, and again.
APP_LOAD_ERROR = 4


class ConfigRefused(ConfigError, click.ClickException):
    """A ``ConfigError`` that click prints as one line and exits 1 on."""

    def __init__(self, message: str) -> None:
        click.ClickException.__init__(self, message)


def refuse_to_serve(error: ConfigError) -> NoReturn:
    """Say what is wrong in one line on stderr and stop with ``APP_LOAD_ERROR``."""
    print(f"signatory: {error}", file=sys.stderr, flush=True)
    raise SystemExit(APP_LOAD_ERROR)


def check_configuration() -> None:
    """Load and check the configuration as ``create_app`` would, and nothing more.

    Nothing is opened (no database, no rate-limit store), so a process that forks
    afterwards, as gunicorn's arbiter does, hands its workers nothing to share.
    """
    # The same Flask object create_app starts from: its instance folder decides the
    # defaults (the SQLite file, the generated secret) that the checks look at.
    app = Flask(
        "signatory",
        instance_path=os.environ.get("SIGNATORY_INSTANCE_PATH") or None,
        instance_relative_config=True,
    )
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    try:
        load_config(app, None)
        log_format(app.config)
    except ConfigError as error:
        refuse_to_serve(error)
