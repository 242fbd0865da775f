"""Updates to signatories: posted by coordinators, shown on the letter page and in its
feed, emailed to the signatories who asked for them."""

from __future__ import annotations

from flask import Flask

from signatory.core.access import Sides


def init_app(app: Flask, sides: Sides) -> None:
    """The updates' pages, emails and feed."""
