"""Placeholder routes (being written)."""

from flask import abort

from . import bp
from .access import letter_route


@bp.get("/letters/<slug>/export")
@letter_route("editor")
def exports(letter, membership):
    abort(501)
