"""The public history of a letter's text: every version, any two compared, each one in full.

Drafts are not public, so their history answers 404 like the draft itself.
"""

from __future__ import annotations

from flask import abort, render_template, request

from signatory.core.extensions import db
from signatory.manage import letters_service
from signatory.models import Letter, LetterVersion
from signatory.public import bp
from signatory.public.views import letter_or_404


def _version_or_404(letter: Letter, number: int) -> LetterVersion:
    try:
        return letters_service.version_by_number(db.session, letter, number)
    except letters_service.VersionNotFound as error:
        abort(404, description=error.message)


@bp.get("/letters/<slug>/versions")
def versions(slug: str) -> str:
    """Every version of the text, newest first, with its kind, note and signatures."""
    letter = letter_or_404(slug)
    return render_template(
        "public/versions.html",
        letter=letter,
        summaries=letters_service.version_summaries(db.session, letter),
    )


@bp.get("/letters/<slug>/versions/compare")
def compare_versions(slug: str) -> str:
    """Two versions compared word by word: ``?from=1&to=2``."""
    letter = letter_or_404(slug)
    latest = letter.current_version.number
    try:
        numbers = letters_service.parse_compare(
            request.args.get("from", "").strip(),
            request.args.get("to", "").strip(),
            latest=latest,
        )
    except letters_service.LetterError as error:
        abort(400, description=error.message)
    return render_template(
        "public/versions_compare.html",
        letter=letter,
        comparison=letters_service.compare_versions(db.session, letter, *numbers),
        numbers=list(range(latest, 0, -1)),
    )


@bp.get("/letters/<slug>/versions/<int:number>")
def version(slug: str, number: int) -> str:
    """One version's full text, as it read when people signed it."""
    letter = letter_or_404(slug)
    return render_template(
        "public/versions_show.html",
        letter=letter,
        version=_version_or_404(letter, number),
        latest=letter.current_version.number,
    )
