"""Placeholder routes (being written)."""

from flask import abort

from . import bp
from .access import letter_route


@bp.get("/letters/<slug>/team")
@letter_route("moderator")
def team(letter, membership):
    abort(501)
