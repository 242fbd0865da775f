"""Placeholder routes (being written)."""

from flask import abort

from . import bp
from .access import letter_route


@bp.get("/letters/<slug>/audit")
@letter_route("moderator")
def audit(letter, membership):
    abort(501)
