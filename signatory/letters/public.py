"""The public letters: the home page (and the site's icon), and each letter's history of its
text (every version, any two compared, each one in full). The letter page itself, with its
sign form, is ``signatures.public``.

Drafts are not public, so their history answers 404 like the draft itself.
"""

from __future__ import annotations

from flask import abort, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from signatory.core.access import Routes
from signatory.core.extensions import db
from signatory.core.time import utcnow
from signatory.letters import queries
from signatory.letters import versions as letters_service
from signatory.letters.lookup import public_letter_or_404
from signatory.letters.service import LetterError
from signatory.models import Letter, LetterVersion

routes = Routes("public")


@routes.get("/")
def index() -> str:
    """Every public letter, open ones first."""
    letters = queries.listed_letters(db.session)
    counts = {letter.id: queries.published_counts(db.session, letter) for letter in letters}
    return render_template("letters/index.html", letters=letters, counts=counts, now=utcnow())


@routes.get("/favicon.ico")
def favicon() -> Response:
    """Browsers ask every site for /favicon.ico, whatever its pages link: the icon, for a day."""
    response = redirect(url_for("static", filename="favicon.svg"), 301)
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response


def _version_or_404(letter: Letter, number: int) -> LetterVersion:
    try:
        return letters_service.version_by_number(db.session, letter, number)
    except letters_service.VersionNotFound as error:
        abort(404, description=error.message)


@routes.get("/letters/<slug>/versions")
def versions(slug: str) -> str:
    """Every version of the text, newest first, with its kind, note and signatures."""
    letter = public_letter_or_404(slug)
    return render_template(
        "letters/versions.html",
        letter=letter,
        summaries=letters_service.version_summaries(db.session, letter),
    )


@routes.get("/letters/<slug>/versions/compare")
def compare_versions(slug: str) -> str:
    """Two versions compared word by word: ``?from=1&to=2``."""
    letter = public_letter_or_404(slug)
    latest = letter.current_version.number
    try:
        numbers = letters_service.parse_compare(
            request.args.get("from", "").strip(),
            request.args.get("to", "").strip(),
            latest=latest,
        )
    except LetterError as error:
        abort(400, description=error.message)
    return render_template(
        "letters/versions_compare.html",
        letter=letter,
        comparison=letters_service.compare_versions(db.session, letter, *numbers),
        numbers=list(range(latest, 0, -1)),
    )


@routes.get("/letters/<slug>/versions/<int:number>")
def version(slug: str, number: int) -> str:
    """One version's full text, as it read when people signed it."""
    letter = public_letter_or_404(slug)
    return render_template(
        "letters/versions_show.html",
        letter=letter,
        version=_version_or_404(letter, number),
        latest=letter.current_version.number,
    )
