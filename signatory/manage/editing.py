"""Letters in the browser: a new draft, its text with a live preview, settings, status, versions.

Every page works without JavaScript: the Preview button re-renders the page with the
sanitised text. With it, ``static/manage.js`` asks the ``preview`` endpoint for the same
HTML as the editor types.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    HiddenField,
    RadioField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional, Regexp

from signatory import letters
from signatory.core.extensions import db
from signatory.core.text import render_markdown
from signatory.core.time import utcnow
from signatory.manage import bp
from signatory.manage import editing_mail as _editing_mail  # noqa: F401  (registers the version_changed email)
from signatory.manage import letters_service as service
from signatory.manage.access import current_coordinator, letter_route, signed_in
from signatory.manage.forms import show_field_error
from signatory.models import Letter, LetterStatus, Membership, Moderation

MODERATION_CHOICES = [
    SelectChoice(
        Moderation.NONE.value, _l("None: signatures are published as soon as they are confirmed")
    ),
    SelectChoice(
        Moderation.MISMATCH.value,
        _l("Organizations whose email domain does not match their website are reviewed first"),
    ),
    SelectChoice(Moderation.ALL.value, _l("Every signature is reviewed before it is published")),
]
KIND_CHOICES = [
    SelectChoice(
        service.CORRECTION, _l("Correction: typos or formatting; the meaning is unchanged")
    ),
    SelectChoice(service.SUBSTANTIVE, _l("Substantive: what the letter says or asks has changed")),
]


def _at_most(limit: int) -> Any:
    """A length limit's message, with the number grouped as people read it."""
    return _l("At most %(max)s characters.", max=f"{limit:,}")


# Fields that the new-letter form shares with the text and settings forms.
def _title_field() -> StringField:
    return StringField(
        _l("Title"),
        validators=[
            InputRequired(_l("Give the letter a title.")),
            Length(max=letters.TITLE_MAX, message=_at_most(letters.TITLE_MAX)),
        ],
    )


def _recipient_field() -> StringField:
    return StringField(
        _l("Recipient"),
        validators=[
            InputRequired(_l("Say to whom the letter is addressed.")),
            Length(max=letters.RECIPIENT_MAX, message=_at_most(letters.RECIPIENT_MAX)),
        ],
    )


def _body_field() -> TextAreaField:
    return TextAreaField(
        _l("Text (Markdown)"),
        validators=[
            InputRequired(_l("Write the text of the letter.")),
            Length(max=letters.BODY_MAX, message=_at_most(letters.BODY_MAX)),
        ],
    )


class NewLetterForm(FlaskForm):
    slug = StringField(
        _l("Web address"),
        validators=[
            InputRequired(_l("Choose the letter's web address.")),
            Length(max=letters.SLUG_MAX, message=_at_most(letters.SLUG_MAX)),
            Regexp(
                letters.SLUG,
                message=_l(
                    "Use lowercase letters, digits and single hyphens, e.g. civic-space-2025."
                ),
            ),
        ],
    )
    title = _title_field()
    recipient = _recipient_field()
    body = _body_field()


class TextForm(FlaskForm):
    body = _body_field()
    # Whether kind and note are required is the service's decision: it knows whether
    # the letter has been signed.
    kind = RadioField(_l("Kind of change"), choices=KIND_CHOICES, validators=[Optional()])
    change_note = StringField(
        _l("What changed"),
        validators=[Length(max=service.CHANGE_NOTE_MAX, message=_at_most(service.CHANGE_NOTE_MAX))],
    )
    # The version the editor started from, to notice a version published meanwhile.
    based_on = HiddenField()


class SettingsForm(FlaskForm):
    title = _title_field()
    recipient = _recipient_field()
    deadline = DateTimeLocalField(
        _l("Deadline, in UTC"),
        format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
        tz=UTC,
        validators=[Optional()],
        invalid_value_message=_l(
            "Give a date and time such as 2030-06-30T17:00, or leave it empty."
        ),
    )
    allow_individuals = BooleanField(_l("Individuals may sign, in their own section"))
    moderation = RadioField(
        _l("Moderation"),
        choices=MODERATION_CHOICES,
        validators=[InputRequired(_l("Choose how signatures are moderated."))],
    )
    require_domain_match = BooleanField(
        _l("Organizations must sign from an email address at their website's domain")
    )


def _text_form(letter: Letter) -> TextForm:
    current = letter.current_version
    return TextForm(formdata=None, data={"body": current.body_markdown, "based_on": current.number})


def _settings_form(letter: Letter) -> SettingsForm:
    return SettingsForm(formdata=None, obj=letter)


def _based_on(form: TextForm) -> int | None:
    raw = (form.based_on.data or "").strip()
    return int(raw) if raw.isdigit() else None


def _render_edit(
    letter: Letter,
    membership: Membership,
    *,
    text_form: TextForm | None = None,
    settings_form: SettingsForm | None = None,
    preview_html: str | None = None,
    status: int = 200,
) -> tuple[str, int]:
    now = utcnow()
    page = render_template(
        "manage/editing/edit.html",
        letter=letter,
        membership=membership,
        text_form=text_form or _text_form(letter),
        settings_form=settings_form or _settings_form(letter),
        # Without a preview asked for, the preview pane shows the current version.
        previewing=preview_html is not None,
        preview_html=letter.current_version.body_html if preview_html is None else preview_html,
        in_place=service.edits_in_place(db.session, letter),
        delivered=letter.status == LetterStatus.DELIVERED,
        accepting=letter.accepts_signatures(now),
        deadline_passed=letter.deadline is not None and letter.deadline <= now,
        now=now,
    )
    return page, status


# --- A new draft -------------------------------------------------------------------------


@bp.route("/letters/new", methods=["GET", "POST"])
@signed_in
def new_letter() -> Response | str | tuple[str, int]:
    """Start a draft: address, title, recipient and text. Its creator becomes its owner."""
    form = NewLetterForm()
    if request.method == "GET":
        return render_template("manage/editing/new.html", form=form, preview_html=None)
    if request.form.get("action") == "preview":
        return render_template(
            "manage/editing/new.html", form=form, preview_html=render_markdown(form.body.data or "")
        )
    if not form.validate():
        return render_template("manage/editing/new.html", form=form, preview_html=None), 400
    try:
        letter = service.create_draft(
            db.session,
            slug=form.slug.data,
            title=form.title.data,
            recipient=form.recipient.data,
            body_markdown=form.body.data,
            owner=current_coordinator(),
            now=utcnow(),
        )
    except service.LetterError as error:
        db.session.rollback()
        show_field_error(form, error, "slug")
        return render_template("manage/editing/new.html", form=form, preview_html=None), 400
    db.session.commit()
    flash(gettext("Draft created. Nobody else sees it until you open it for signatures."), "ok")
    return redirect(url_for("manage.edit", slug=letter.slug), code=303)


# --- The text ----------------------------------------------------------------------------


@bp.route("/letters/<slug>/edit", methods=["GET", "POST"])
@letter_route("editor")
def edit(letter: Letter, membership: Membership) -> Response | tuple[str, int]:
    """The text with its preview, the settings and the status; POST saves the text."""
    if request.method == "GET":
        return _render_edit(letter, membership)
    form = TextForm()
    if request.form.get("action") == "preview":
        return _render_edit(
            letter, membership, text_form=form, preview_html=render_markdown(form.body.data or "")
        )
    if letter.status == LetterStatus.DELIVERED:
        abort(409, description=gettext("This letter was delivered; its text can no longer change."))
    if not form.validate():
        return _render_edit(letter, membership, text_form=form, status=400)
    try:
        change = service.change_text(
            db.session,
            letter,
            body_markdown=form.body.data,
            kind=form.kind.data,
            change_note=form.change_note.data,
            author=current_coordinator(),
            now=utcnow(),
            based_on=_based_on(form),
        )
    except service.LetterError as error:
        db.session.rollback()
        show_field_error(form, error, "body")
        status = 409 if isinstance(error, service.TextChangedMeanwhile) else 400
        return _render_edit(letter, membership, text_form=form, status=status)
    db.session.commit()
    if change is None:
        flash(gettext("The text is unchanged; nothing was saved."), "ok")
    elif change.new_version:
        flash(
            gettext(
                "Version %(number)s published. Earlier signatures stay on the version they signed.",
                number=change.version.number,
            ),
            "ok",
        )
    else:
        flash(gettext("Draft text saved."), "ok")
    return redirect(url_for("manage.edit", slug=letter.slug), code=303)


@bp.post("/letters/<slug>/preview")
@letter_route("editor")
def preview(letter: Letter, membership: Membership) -> Response | tuple[Response, int]:
    """The sanitised HTML of the Markdown in ``body``, for the live preview (JSON)."""
    body = request.form.get("body", "")
    if len(body) > letters.BODY_MAX:
        response = jsonify(
            {"error": {"code": "too_long", "message": gettext("The text is too long.")}}
        )
        return response, 413
    response = jsonify({"html": render_markdown(body)})
    response.headers["Cache-Control"] = "no-store"
    return response


# --- Settings and status -----------------------------------------------------------------


@bp.post("/letters/<slug>/settings")
@letter_route("editor")
def settings(letter: Letter, membership: Membership) -> Response | tuple[str, int]:
    """Save the title, recipient, deadline and policies."""
    if letter.status == LetterStatus.DELIVERED:
        abort(
            409,
            description=gettext("This letter was delivered; its settings can no longer change."),
        )
    form = SettingsForm()
    if not form.validate():
        return _render_edit(letter, membership, settings_form=form, status=400)
    try:
        changes = service.update_settings(
            db.session,
            letter,
            service.LetterSettings(
                title=form.title.data,
                recipient=form.recipient.data,
                deadline=form.deadline.data,
                allow_individuals=form.allow_individuals.data,
                moderation=form.moderation.data,
                require_domain_match=form.require_domain_match.data,
            ),
            actor=current_coordinator(),
            now=utcnow(),
        )
    except service.LetterError as error:
        db.session.rollback()
        show_field_error(form, error, "title")
        return _render_edit(letter, membership, settings_form=form, status=400)
    db.session.commit()
    flash(gettext("Settings saved.") if changes else gettext("The settings are unchanged."), "ok")
    return redirect(url_for("manage.edit", slug=letter.slug), code=303)


def _change_status(letter: Letter, action: str, done: str) -> Response:
    try:
        service.change_status(db.session, letter, action, actor=current_coordinator(), now=utcnow())
    except service.LetterError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(done, "ok")
    return redirect(url_for("manage.edit", slug=letter.slug), code=303)


@bp.post("/letters/<slug>/open")
@letter_route("editor")
def open_letter(letter: Letter, membership: Membership) -> Response:
    """Open a draft for signatures: it becomes public."""
    return _change_status(
        letter, "open", gettext("The letter is open: it is public and takes signatures.")
    )


@bp.post("/letters/<slug>/close")
@letter_route("editor")
def close_letter(letter: Letter, membership: Membership) -> Response:
    """Close signing; the letter and its list stay public."""
    return _change_status(letter, "close", gettext("Signing is closed. The letter stays public."))


@bp.post("/letters/<slug>/reopen")
@letter_route("editor")
def reopen_letter(letter: Letter, membership: Membership) -> Response:
    """Reopen a closed letter for signatures."""
    return _change_status(letter, "reopen", gettext("The letter is open for signatures again."))


# --- Versions ----------------------------------------------------------------------------


def compare_args(args: Any, latest: int) -> tuple[int, int] | None:
    """``from`` and ``to`` from a query string: None when neither is given, 400 when bad."""
    raw_from, raw_to = args.get("from", "").strip(), args.get("to", "").strip()
    if not raw_from and not raw_to:
        return None
    try:
        return service.parse_compare(raw_from, raw_to, latest=latest)
    except service.LetterError as error:
        abort(400, description=error.message)


@bp.get("/letters/<slug>/versions")
@letter_route("moderator")
def versions(letter: Letter, membership: Membership) -> str:
    """Every version with its kind, note, author and signatures; any two compared."""
    latest = letter.current_version.number
    chosen = compare_args(request.args, latest)
    if chosen is None and latest > 1:
        chosen = (latest - 1, latest)
    comparison = service.compare_versions(db.session, letter, *chosen) if chosen else None
    return render_template(
        "manage/editing/versions.html",
        letter=letter,
        membership=membership,
        summaries=service.version_summaries(db.session, letter),
        comparison=comparison,
        may_notify=membership.allows("editor"),
    )


@bp.post("/letters/<slug>/versions/<int:number>/notify")
@letter_route("editor")
def notify_signatories(letter: Letter, membership: Membership, number: int) -> Response:
    """Email earlier signatories the difference made by substantive version ``number``."""
    try:
        count = service.notify_signatories(
            db.session, letter, number, actor=current_coordinator(), now=utcnow()
        )
    except service.VersionNotFound:
        db.session.rollback()
        abort(404, description="This letter has no such version.")
    except service.LetterError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(
            f"{count} email{'' if count == 1 else 's'} queued: each earlier signatory gets the "
            "changes and their own withdrawal link.",
            "ok",
        )
    return redirect(url_for("manage.versions", slug=letter.slug), code=303)
