"""The public list of signatories: its queries and cursors, search and filters, downloads,
live updates, charts, feed and widget."""

from __future__ import annotations

from flask import Flask

from signatory.core.access import Sides
from signatory.lists import polls, public


def init_app(app: Flask, sides: Sides) -> None:
    """The list's public pages and files, and the live poll's quick 304 in front of them."""
    sides.add(public.routes)
    polls.install(app)
