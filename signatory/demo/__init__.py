"""The demo letter, its invented signatories and the demo coordinator, for a first look."""

from __future__ import annotations

from flask import Flask

from signatory.demo.commands import demo_command


def init_app(app: Flask) -> None:
    """``flask demo``."""
    app.cli.add_command(demo_command)
