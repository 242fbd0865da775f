"""Organizations shown as organizations: logos (uploaded, checked, approved, the logo
wall), lead organizations, and the "authorised to sign" statement."""

from __future__ import annotations

from flask import Flask

from signatory.core.access import Sides


def init_app(app: Flask, sides: Sides) -> None:
    """The logo pages and the organizations' workspace pages."""
