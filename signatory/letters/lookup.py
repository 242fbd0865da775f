"""Finding the letter a public URL names: the one view helper every module's pages share."""

from __future__ import annotations

from typing import NoReturn

from flask import abort
from flask_babel import gettext

from signatory.core.extensions import db
from signatory.letters.queries import letter_by_slug
from signatory.models import Letter


def public_letter_or_404(slug: str, *, with_versions: bool = True) -> Letter:
    """The public letter at ``slug`` (anything but a draft), or a 404 page saying so.

    ``with_versions=False`` for answers that never show its text (see ``letter_by_slug``).
    """
    letter = letter_by_slug(db.session, slug, with_versions=with_versions)
    if letter is None:
        no_such_letter()
    return letter


def no_such_letter() -> NoReturn:
    """The 404 page of an address that names no public letter."""
    abort(404, description=gettext("There is no letter at this address. It may not be public yet."))
