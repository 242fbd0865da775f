"""Imports: signatures brought over from a spreadsheet, checked row by row with the sign
form's rules, previewed, then confirmed by their signers or attested by coordinators."""

from __future__ import annotations

from flask import Flask

from signatory.core.access import Sides


def init_app(app: Flask, sides: Sides) -> None:
    """The import pages and the ``signatures import`` command."""
