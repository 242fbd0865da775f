"""Translations of the current version's text: add, edit, remove, and choose the authoritative one.

Editors change them; moderators may read them. The rules (a translation belongs to one
version, copies need review, what people signed is not rewritten) are in
``letters.translations``.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from werkzeug.wrappers import Response

from signatory.core.access import Routes
from signatory.core.extensions import db
from signatory.core.i18n import interface_language
from signatory.core.text import render_markdown
from signatory.core.time import utcnow
from signatory.core.web import show_field_error
from signatory.letters import texts
from signatory.letters import translations as service
from signatory.letters.forms import (
    LanguageForm,
    NewTranslationForm,
    TitleAndTextForm,
)
from signatory.models import Letter, LetterStatus, LetterTranslation, Membership
from signatory.team.access import current_coordinator, letter_route

routes = Routes("manage")


def _refuse_if_delivered(letter: Letter) -> None:
    if letter.status == LetterStatus.DELIVERED:
        abort(
            409, description=gettext("This letter was delivered; its texts can no longer change.")
        )


def _may_edit(letter: Letter, membership: Membership) -> bool:
    """Whether the page offers changes: to an editor, while the letter is not delivered."""
    return membership.allows("editor") and letter.status != LetterStatus.DELIVERED


def _shown_in() -> str:
    """The language the workspace speaks, to name languages in it ("French", "francés")."""
    return interface_language() or "en"


def _name(tag: str) -> str:
    return texts.language_name(tag, _shown_in())


def _back(letter: Letter) -> Response:
    return redirect(url_for("manage.translations", slug=letter.slug), code=303)


# --- The list -----------------------------------------------------------------------------


@routes.get("/letters/<slug>/translations")
@letter_route("moderator")
def translations(letter: Letter, membership: Membership) -> str:
    """The current version's texts, which is authoritative, and signatures per language."""
    version = letter.current_version
    return render_template(
        "letters/manage/translations/index.html",
        letter=letter,
        overview=texts.overview(db.session, letter, display_language=_shown_in()),
        may_edit=_may_edit(letter, membership),
        language_form=LanguageForm(formdata=None, data={"language": version.language}),
    )


# --- Adding one ---------------------------------------------------------------------------


def _render_new(
    letter: Letter,
    form: NewTranslationForm,
    *,
    preview_html: str | None = None,
    status: int = 200,
) -> tuple[str, int]:
    page = render_template(
        "letters/manage/translations/new.html",
        letter=letter,
        version=letter.current_version,
        form=form,
        suggestions=texts.suggestions(_shown_in()),
        preview_html=preview_html,
    )
    return page, status


@routes.route("/letters/<slug>/translations/new", methods=["GET", "POST"])
@letter_route("editor")
def new_translation(letter: Letter, membership: Membership) -> Response | tuple[str, int]:
    """A form to add a translation of the current version; POST adds it."""
    _refuse_if_delivered(letter)
    form = NewTranslationForm()
    if request.method == "GET":
        return _render_new(letter, form)
    if request.form.get("action") == "preview":
        preview = render_markdown(form.body.data or "")
        return _render_new(letter, form, preview_html=preview)
    if not form.validate():
        return _render_new(letter, form, status=400)
    try:
        translation = service.add_translation(
            db.session,
            letter,
            language=form.language.data,
            title=form.title.data,
            body_markdown=form.body.data,
            author=current_coordinator(),
            now=utcnow(),
        )
    except texts.TranslationError as error:
        db.session.rollback()
        show_field_error(form, error, "language")
        return _render_new(letter, form, status=400)
    # Read before the commit expires them.
    language, number = translation.language, letter.current_version.number
    db.session.commit()
    flash(
        gettext(
            "%(language)s translation added to version %(number)s. It is public once the "
            "letter is.",
            language=_name(language),
            number=number,
        ),
        "ok",
    )
    return _back(letter)


# --- One translation ----------------------------------------------------------------------


def _translation_or_404(letter: Letter, language: str) -> LetterTranslation:
    try:
        return service.translation_for(db.session, letter.current_version, language)
    except texts.TranslationNotFound as error:
        abort(404, description=error.message)


def _render_translation(
    letter: Letter,
    membership: Membership,
    translation: LetterTranslation,
    form: TitleAndTextForm | None = None,
    *,
    preview_html: str | None = None,
    status: int = 200,
) -> tuple[str, int]:
    version = letter.current_version
    page = render_template(
        "letters/manage/translations/edit.html",
        letter=letter,
        version=version,
        translation=translation,
        name=_name(translation.language),
        authoritative=translation.language == version.authoritative_language,
        needs_review=texts.needs_review(translation),
        may_edit=_may_edit(letter, membership),
        form=form
        or TitleAndTextForm(formdata=None, obj=translation, body=translation.body_markdown),
        preview_html=preview_html,
    )
    return page, status


@routes.get("/letters/<slug>/translations/<language>")
@letter_route("moderator")
def translation(letter: Letter, membership: Membership, language: str) -> tuple[str, int]:
    """One translation beside the text it translates; editors get the form to change it."""
    return _render_translation(letter, membership, _translation_or_404(letter, language))


@routes.post("/letters/<slug>/translations/<language>")
@letter_route("editor")
def update_translation(
    letter: Letter, membership: Membership, language: str
) -> Response | tuple[str, int]:
    """Save a translation: its title and text now match the current version's text."""
    found = _translation_or_404(letter, language)
    _refuse_if_delivered(letter)
    form = TitleAndTextForm()
    if request.form.get("action") == "preview":
        preview = render_markdown(form.body.data or "")
        return _render_translation(letter, membership, found, form, preview_html=preview)
    if not form.validate():
        return _render_translation(letter, membership, found, form, status=400)
    try:
        changed = service.update_translation(
            db.session,
            letter,
            found.language,
            title=form.title.data,
            body_markdown=form.body.data,
            author=current_coordinator(),
            now=utcnow(),
        )
    except texts.TranslationError as error:
        db.session.rollback()
        show_field_error(form, error, "body")
        return _render_translation(letter, membership, found, form, status=400)
    db.session.commit()
    name = _name(found.language)
    flash(
        gettext("%(language)s translation saved.", language=name)
        if changed
        else gettext("The %(language)s text is unchanged.", language=name),
        "ok",
    )
    return _back(letter)


@routes.post("/letters/<slug>/translations/<language>/remove")
@letter_route("editor")
def remove_translation(letter: Letter, membership: Membership, language: str) -> Response:
    """Remove a translation of the current version (not the authoritative one)."""
    found = _translation_or_404(letter, language)
    _refuse_if_delivered(letter)
    try:
        service.remove_translation(
            db.session, letter, found.language, actor=current_coordinator(), now=utcnow()
        )
    except texts.TranslationError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(
            url_for("manage.translation", slug=letter.slug, language=found.language), code=303
        )
    db.session.commit()
    flash(gettext("%(language)s translation removed.", language=_name(found.language)), "ok")
    return _back(letter)


# --- The version's texts as a whole -------------------------------------------------------


def _language_action(
    letter: Letter, action: Callable[..., bool], done: Callable[[str], str]
) -> Response:
    _refuse_if_delivered(letter)
    form = LanguageForm()
    if not form.validate():
        flash(" ".join(form.language.errors), "error")
        return _back(letter)
    try:
        changed = action(
            db.session, letter, form.language.data, actor=current_coordinator(), now=utcnow()
        )
    except texts.TranslationError as error:
        db.session.rollback()
        flash(error.message, "error")
        return _back(letter)
    db.session.commit()
    name = _name(form.language.data)
    flash(done(name) if changed else gettext("Nothing changed."), "ok")
    return _back(letter)


@routes.post("/letters/<slug>/translations/authoritative")
@letter_route("editor")
def set_authoritative(letter: Letter, membership: Membership) -> Response:
    """Make the text in ``language`` the authoritative text of the current version."""
    return _language_action(
        letter,
        service.set_authoritative,
        lambda name: gettext("The %(language)s text is now the authoritative one.", language=name),
    )


@routes.post("/letters/<slug>/translations/text-language")
@letter_route("editor")
def set_text_language(letter: Letter, membership: Membership) -> Response:
    """Say which language the current version's own text is written in."""
    return _language_action(
        letter,
        service.set_text_language,
        lambda name: gettext("The text of this version is marked as %(language)s.", language=name),
    )


@routes.post("/letters/<slug>/translations/copy")
@letter_route("editor")
def copy_translations(letter: Letter, membership: Membership) -> Response:
    """Copy an earlier version's translations to the current one, each to be reviewed."""
    _refuse_if_delivered(letter)
    try:
        copies = service.copy_translations(
            db.session, letter, author=current_coordinator(), now=utcnow()
        )
    except texts.TranslationError as error:
        db.session.rollback()
        flash(error.message, "error")
        return _back(letter)
    db.session.commit()
    names = ", ".join(_name(copy.language) for copy in copies)
    flash(
        gettext(
            "Copied: %(languages)s. Each one needs review: it is not public until you save it "
            "against this version's text.",
            languages=names,
        ),
        "ok",
    )
    return _back(letter)
