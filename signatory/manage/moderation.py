"""Placeholder routes (being written)."""

from flask import abort

from . import bp
from .access import letter_route


@bp.get("/letters/<slug>/moderation")
@letter_route("moderator")
def moderation(letter, membership):
    abort(501)


@bp.get("/letters/<slug>/signatures")
@letter_route("moderator")
def signatures(letter, membership):
    abort(501)
