"""Public pages: the letters, one letter with its sign form."""

from __future__ import annotations

from flask import abort, current_app, render_template, request
from flask_babel import gettext

from signatory.core.extensions import db
from signatory.core.time import utcnow
from signatory.manage import translations_service
from signatory.models import Letter
from signatory.public import bp, service
from signatory.signing.forms import SignForm


def letter_or_404(slug: str) -> Letter:
    letter = service.letter_by_slug(db.session, slug)
    if letter is None:
        abort(
            404,
            description=gettext("There is no letter at this address. It may not be public yet."),
        )
    return letter


def interface_language() -> str | None:
    """The language the pages are shown in ("fr"), or None when Flask-Babel is not running."""
    if "babel" not in current_app.extensions:
        return None
    try:
        from flask_babel import get_locale
    except ImportError:  # pragma: no cover - installed with the app
        return None
    locale = get_locale()
    return str(locale).replace("_", "-") if locale is not None else None


def reader_languages() -> list[str]:
    """The languages to read the letter's text in, most wanted first.

    The interface's language when the reader chose it, then the languages the browser
    asks for, in its order: a reader whose language the interface lacks (the interface
    falls back to its default) still finds a translation of the letter into it.
    """
    asked = [tag for tag in request.accept_languages.values() if tag != "*"]
    interface = interface_language()
    default = current_app.extensions["babel"].default_locale if interface else None
    if interface is None or interface.split("-")[0] == str(default).split("_")[0]:
        return asked
    return [interface, *asked]


def render_letter_page(letter: Letter, form: SignForm | None = None, status: int = 200):
    """The letter, its recipient, its count and the sign form (with errors, when given one).

    The text is shown in the language asked for with ``?text=``, else in the first of the
    reader's languages (``reader_languages``) the version has a text in, else in the
    authoritative one.
    """
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
        text=translations_service.choose_text(
            translations_service.public_texts(db.session, letter.current_version),
            requested=request.args.get("text"),
            preferred=reader_languages(),
            interface=interface_language(),
        ),
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


from signatory.public import charts as _charts  # noqa: E402,F401  (charts of the list)
from signatory.public import delivery as _delivery  # noqa: E402,F401  (the delivered file and printable page)
from signatory.public import lists  # noqa: E402,F401  (the list and its downloads register on the same blueprint)
from signatory.public import live as _live  # noqa: E402  (the endpoint pages poll; counts per list revision)
from signatory.public import reuse as _reuse  # noqa: E402  (widget, feed, JSON download, link previews)
from signatory.public import versions as _versions  # noqa: E402,F401  (the version history)
