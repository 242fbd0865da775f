"""The public list of signatories: its queries and cursors, search and filters, downloads,
live updates, charts, feed and widget."""

from __future__ import annotations

from signatory.core.access import Sides
from signatory.lists import public


def init_app(sides: Sides) -> None:
    """The list's public pages and files."""
    sides.add(public.routes)
