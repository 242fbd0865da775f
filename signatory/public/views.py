"""Public pages: the letters, one letter with its sign form."""

from __future__ import annotations

from flask import abort, current_app, render_template

from ..extensions import db
from ..models import Letter
from ..signing.forms import SignForm
from ..timeutil import utcnow
from . import bp, service


def letter_or_404(slug: str) -> Letter:
    letter = service.letter_by_slug(db.session, slug)
    if letter is None:
        abort(404, description="There is no letter at this address. It may not be public yet.")
    return letter


def render_letter_page(letter: Letter, form: SignForm | None = None, status: int = 200):
    """The letter, its recipient, its count and the sign form (with errors, when given one)."""
    if form is None:
        form = SignForm(
            allow_individuals=letter.allow_individuals,
            check_deliverability=current_app.config["EMAIL_CHECK_DELIVERABILITY"],
        )
    counts = _live.list_cached(
        letter, "counts", lambda: service.published_counts(db.session, letter)
    )
    page = render_template(
        "public/letter.html",
        letter=letter,
        version=letter.current_version,
        counts=counts,
        latest=service.latest_published(db.session, letter, limit=10),
        accepting=letter.accepts_signatures(utcnow()),
        form=form,
        share=_reuse.share_context(letter, counts),
    )
    return page, status


@bp.get("/")
def index() -> str:
    """Every public letter, open ones first."""
    letters = service.listed_letters(db.session)
    counts = {letter.id: service.published_counts(db.session, letter) for letter in letters}
    return render_template("public/index.html", letters=letters, counts=counts, now=utcnow())


@bp.get("/letters/<slug>")
def letter(slug: str):
    """The letter and, while it is open, the form to sign it."""
    return render_letter_page(letter_or_404(slug))


from . import charts as _charts  # noqa: E402,F401  (charts of the list)
from . import delivery as _delivery  # noqa: E402,F401  (the delivered file and printable page)
from . import lists  # noqa: E402,F401  (the list and its downloads register on the same blueprint)
from . import live as _live  # noqa: E402  (the endpoint pages poll; counts per list revision)
from . import reuse as _reuse  # noqa: E402  (widget, feed, JSON download, link previews)
from . import versions as _versions  # noqa: E402,F401  (the version history)
