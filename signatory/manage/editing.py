"""Placeholder routes (being written)."""

from flask import abort

from . import bp
from .access import letter_route, signed_in


@bp.get("/letters/new")
@signed_in
def new_letter():
    abort(501)


@bp.get("/letters/<slug>/edit")
@letter_route("editor")
def edit(letter, membership):
    abort(501)


@bp.get("/letters/<slug>/versions")
@letter_route("moderator")
def versions(letter, membership):
    abort(501)
