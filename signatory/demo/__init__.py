"""The demo letter, its invented signatories and the demo coordinator, for a first look."""

from __future__ import annotations

from flask import Flask

from signatory.demo.commands import demo_command

# Re-exported because ./scripts/serve prints the demo login as
# ``from signatory import demo; demo.DEMO_COORDINATOR_EMAIL``.
from signatory.demo.loader import DEMO_COORDINATOR_EMAIL, DEMO_COORDINATOR_PASSWORD

__all__ = ["DEMO_COORDINATOR_EMAIL", "DEMO_COORDINATOR_PASSWORD", "init_app"]


def init_app(app: Flask) -> None:
    """``flask demo``."""
    app.cli.add_command(demo_command)
