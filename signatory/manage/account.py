"""Placeholder routes (being written)."""

from flask import abort

from . import bp
from .access import signed_in


@bp.get("/account")
@signed_in
def account():
    abort(501)
