"""Telling earlier signatories of a substantive version, from the letter's versions page."""

from __future__ import annotations

from flask import abort, flash, redirect, url_for
from werkzeug.wrappers import Response

from signatory.core.access import Routes
from signatory.core.extensions import db
from signatory.core.time import utcnow
from signatory.letters.service import LetterError
from signatory.letters.versions import VersionNotFound
from signatory.models import Letter, Membership
from signatory.signatures import changes
from signatory.team.access import current_coordinator, letter_route

routes = Routes("manage")


@routes.post("/letters/<slug>/versions/<int:number>/notify")
@letter_route("editor")
def notify_signatories(letter: Letter, membership: Membership, number: int) -> Response:
    """Email earlier signatories the difference made by substantive version ``number``."""
    try:
        count = changes.notify_signatories(
            db.session, letter, number, actor=current_coordinator(), now=utcnow()
        )
    except VersionNotFound:
        db.session.rollback()
        abort(404, description="This letter has no such version.")
    except LetterError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(
            f"{count} email{'' if count == 1 else 's'} queued: each earlier signatory gets the "
            "changes and their own links to keep their signature on the new version or to "
            "withdraw it. Their answers are counted on the re-confirmation page.",
            "ok",
        )
    return redirect(url_for("manage.versions", slug=letter.slug), code=303)
