"""Letters in the workspace: the dashboard, a letter's overview, a new draft, its text with a
live preview, its settings and its status.

Every page works without JavaScript: the Preview button re-renders the page with the
sanitised text. With it, ``static/manage.js`` asks the ``preview`` endpoint for the same
HTML as the editor types.
"""

from __future__ import annotations

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user
from werkzeug.wrappers import Response

from signatory.core.access import Routes
from signatory.core.extensions import db
from signatory.core.text import render_markdown
from signatory.core.time import utcnow
from signatory.core.web import show_field_error
from signatory.letters import queries, service
from signatory.letters import settings as settings_service
from signatory.letters.forms import NewLetterForm, SettingsForm, TextForm
from signatory.models import Letter, LetterStatus, Membership
from signatory.team.access import current_coordinator, letter_route, signed_in

routes = Routes("manage")


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
    *,
    text_form: TextForm | None = None,
    settings_form: SettingsForm | None = None,
    preview_html: str | None = None,
    status: int = 200,
) -> tuple[str, int]:
    now = utcnow()
    page = render_template(
        "letters/manage/edit.html",
        letter=letter,
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


# --- The dashboard and a letter's overview ---------------------------------------------------


@routes.get("/")
@signed_in
def dashboard() -> str:
    """The coordinator's letters, with what needs attention."""
    return render_template(
        "letters/manage/dashboard.html", summaries=queries.letters_of(db.session, current_user)
    )


@routes.get("/letters/<slug>/")
@letter_route("moderator")
def overview(letter: Letter, membership: Membership) -> str:
    """One letter at a glance: status, counts, and where to go next."""
    return render_template(
        "letters/manage/overview.html",
        letter=letter,
        counts=queries.status_counts(db.session, letter),
        accepting=letter.accepts_signatures(utcnow()),
    )


# --- A new draft -------------------------------------------------------------------------


@routes.route("/letters/new", methods=["GET", "POST"])
@signed_in
def new_letter() -> Response | str | tuple[str, int]:
    """Start a draft: address, title, recipient and text. Its creator becomes its owner."""
    form = NewLetterForm()
    if request.method == "GET":
        return render_template("letters/manage/new.html", form=form, preview_html=None)
    if request.form.get("action") == "preview":
        return render_template(
            "letters/manage/new.html", form=form, preview_html=render_markdown(form.body.data or "")
        )
    if not form.validate():
        return render_template("letters/manage/new.html", form=form, preview_html=None), 400
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
        return render_template("letters/manage/new.html", form=form, preview_html=None), 400
    db.session.commit()
    flash(gettext("Draft created. Nobody else sees it until you open it for signatures."), "ok")
    return redirect(url_for("manage.edit", slug=letter.slug), code=303)


# --- The text ----------------------------------------------------------------------------


@routes.route("/letters/<slug>/edit", methods=["GET", "POST"])
@letter_route("editor")
def edit(letter: Letter, membership: Membership) -> Response | tuple[str, int]:
    """The text with its preview, the settings and the status; POST saves the text."""
    if request.method == "GET":
        return _render_edit(letter)
    form = TextForm()
    if request.form.get("action") == "preview":
        return _render_edit(
            letter, text_form=form, preview_html=render_markdown(form.body.data or "")
        )
    if letter.status == LetterStatus.DELIVERED:
        abort(409, description=gettext("This letter was delivered; its text can no longer change."))
    if not form.validate():
        return _render_edit(letter, text_form=form, status=400)
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
        return _render_edit(letter, text_form=form, status=status)
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


@routes.post("/letters/<slug>/preview")
@letter_route("editor")
def preview(letter: Letter, membership: Membership) -> Response | tuple[Response, int]:
    """The sanitised HTML of the Markdown in ``body``, for the live preview (JSON)."""
    body = request.form.get("body", "")
    if len(body) > service.BODY_MAX:
        response = jsonify(
            {"error": {"code": "too_long", "message": gettext("The text is too long.")}}
        )
        return response, 413
    response = jsonify({"html": render_markdown(body)})
    response.headers["Cache-Control"] = "no-store"
    return response


# --- Settings and status -----------------------------------------------------------------


@routes.post("/letters/<slug>/settings")
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
        return _render_edit(letter, settings_form=form, status=400)
    try:
        changes = settings_service.update_settings(
            db.session,
            letter,
            settings_service.LetterSettings(
                title=form.title.data,
                recipient=form.recipient.data,
                deadline=form.deadline.data,
                allow_individuals=form.allow_individuals.data,
                moderation=form.moderation.data,
                require_domain_match=form.require_domain_match.data,
                disposable_email=form.disposable_email.data or letter.disposable_email,
                goal=form.goal.data,
                goal_milestones=form.goal_milestones.data,
                statements_enabled=bool(form.statements_enabled.data),
            ),
            actor=current_coordinator(),
            now=utcnow(),
        )
    except service.LetterError as error:
        db.session.rollback()
        show_field_error(form, error, "title")
        return _render_edit(letter, settings_form=form, status=400)
    db.session.commit()
    flash(gettext("Settings saved.") if changes else gettext("The settings are unchanged."), "ok")
    return redirect(url_for("manage.edit", slug=letter.slug), code=303)


def _change_status(letter: Letter, action: str, done: str) -> Response:
    try:
        settings_service.change_status(
            db.session, letter, action, actor=current_coordinator(), now=utcnow()
        )
    except service.LetterError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(done, "ok")
    return redirect(url_for("manage.edit", slug=letter.slug), code=303)


@routes.post("/letters/<slug>/open")
@letter_route("editor")
def open_letter(letter: Letter, membership: Membership) -> Response:
    """Open a draft for signatures: it becomes public."""
    return _change_status(
        letter, "open", gettext("The letter is open: it is public and takes signatures.")
    )


@routes.post("/letters/<slug>/close")
@letter_route("editor")
def close_letter(letter: Letter, membership: Membership) -> Response:
    """Close signing; the letter and its list stay public."""
    return _change_status(letter, "close", gettext("Signing is closed. The letter stays public."))


@routes.post("/letters/<slug>/reopen")
@letter_route("editor")
def reopen_letter(letter: Letter, membership: Membership) -> Response:
    """Reopen a closed letter for signatures."""
    return _change_status(letter, "reopen", gettext("The letter is open for signatures again."))
