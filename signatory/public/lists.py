"""The full list of signatories and its downloads (placeholder, being written)."""

from __future__ import annotations

from flask import abort

from . import bp


@bp.get("/letters/<slug>/signatories")
def signatories(slug: str) -> str:
    abort(501)


@bp.get("/letters/<slug>/signatories.csv")
def signatories_csv(slug: str) -> str:
    abort(501)
