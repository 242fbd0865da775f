"""Placeholder routes (being written)."""

from flask import abort

from . import bp
from .access import letter_route


@bp.get("/letters/<slug>/delivery")
@letter_route("owner")
def delivery(letter, membership):
    abort(501)
