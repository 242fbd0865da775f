"""Imports: signatures brought over from a spreadsheet, checked row by row with the sign
form's rules, previewed, then confirmed by their signers or attested by coordinators."""

from __future__ import annotations

from flask import Flask

from signatory.core.access import Sides
from signatory.core.extensions import csrf
from signatory.imports import commands, reading, service
from signatory.imports import manage as import_pages
from signatory.signatures.commands import signatures_cli


def init_app(app: Flask, sides: Sides) -> None:
    """The import pages and the ``signatures import`` command.

    The limits (``IMPORT_MAX_BYTES``, ``IMPORT_MAX_ROWS``, ``IMPORT_MAX_COLUMNS``) and how
    long an upload waits for its import (``IMPORT_BATCH_MINUTES``) are settings with
    defaults, each also read from ``SIGNATORY_<NAME>``.
    """
    for key, default in {
        **reading.DEFAULT_LIMITS,
        "IMPORT_BATCH_MINUTES": service.BATCH_MINUTES,
    }.items():
        app.config.setdefault(key, default)
    sides.add(import_pages.routes)
    # The upload checks its CSRF token itself, under its own size limit (``manage``).
    csrf.exempt(import_pages.import_signatures)
    # The command sits in the ``signatures`` group, which cannot know of this module.
    signatures_cli.add_command(commands.import_command)
