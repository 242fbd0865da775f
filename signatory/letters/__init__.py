"""Letters: creating and drafting them, their versions, translations and status, their
public history, and the coordinators' pages for all of it."""

from __future__ import annotations

from flask import Flask

from signatory.core.access import Sides
from signatory.letters import public
from signatory.letters.commands import letters_cli
from signatory.letters.manage import letters as letter_pages
from signatory.letters.manage import translations as translation_pages
from signatory.letters.manage import versions as version_pages


def init_app(app: Flask, sides: Sides) -> None:
    """The home page, the version history, the letters' workspace pages, ``flask letters``."""
    # Aliased: a package attribute named like a sibling module would hide it.
    sides.add(public.routes, letter_pages.routes, version_pages.routes, translation_pages.routes)
    app.cli.add_command(letters_cli)
