"""The coordinators' pages for a letter's updates: the list, posting and editing one, its
preview, the test send to oneself, and the emailing to every consenting signatory.

Editors and owners only (``letter_route("editor")``): an update speaks for the letter, as
its text does, and moderators do not edit that.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from typing import Any

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext, ngettext
from werkzeug.wrappers import Response

from signatory.core.access import Routes
from signatory.core.extensions import db
from signatory.core.time import utcnow
from signatory.mail.worker import render_email
from signatory.models import Letter, LetterUpdate, Membership
from signatory.team.access import current_coordinator, letter_route
from signatory.updates import sending, service
from signatory.updates.forms import UpdateForm

routes = Routes("manage")


def _update_or_404(letter: Letter, update_id: int) -> LetterUpdate:
    found = service.update_of(db.session, letter, update_id)
    if found is None:
        abort(404, description=gettext("This letter has no such update."))
    return found


@routes.get("/letters/<slug>/updates")
@letter_route("editor")
def updates(letter: Letter, membership: Membership) -> str:
    """The letter's updates, newest first, with how each one's emailing fared."""
    listed = service.updates_of(db.session, letter.id)
    return render_template(
        "updates/manage/list.html",
        letter=letter,
        updates=listed,
        counts=service.send_counts(db.session, [each.id for each in listed]),
        opted_in=service.opted_in_count(db.session, letter),
    )


def _text(form: UpdateForm) -> service.UpdateText:
    return service.UpdateText(title=form.title.data or "", body=form.body.data or "")


def _form_page(letter: Letter, form: UpdateForm, posted: LetterUpdate | None, status: int) -> Any:
    page = render_template("updates/manage/form.html", letter=letter, form=form, posted=posted)
    return page, status


@routes.route("/letters/<slug>/updates/new", methods=["GET", "POST"])
@letter_route("editor")
def new_update(letter: Letter, membership: Membership) -> Any:
    """Post an update: public on the letter page and in its feed at once, emailed later."""
    form = UpdateForm()
    if not form.validate_on_submit():
        return _form_page(letter, form, None, 400 if form.is_submitted() else 200)
    try:
        posted = service.post_update(
            db.session, letter, _text(form), actor=current_coordinator(), now=utcnow()
        )
    except service.InvalidUpdate as error:
        db.session.rollback()
        getattr(form, error.field).errors.append(error.message)
        return _form_page(letter, form, None, 400)
    update_id = posted.id
    db.session.commit()
    flash(
        gettext(
            "Update posted on the letter page. Check the email below, send yourself a test, "
            "then send it to the signatories."
        ),
        "ok",
    )
    return redirect(url_for("manage.preview_update", slug=letter.slug, update_id=update_id), 303)


@routes.route("/letters/<slug>/updates/<int:update_id>/edit", methods=["GET", "POST"])
@letter_route("editor")
def edit_update(letter: Letter, membership: Membership, update_id: int) -> Any:
    """Change an update's text, until its emailing begins (then 409: it is what was sent)."""
    posted = _update_or_404(letter, update_id)
    if posted.sending_started:
        # The page says why, in place of the form.
        return render_template(
            "updates/manage/form.html", letter=letter, form=None, posted=posted
        ), 409
    # The update's text to start from; what was posted, when the form was sent.
    form = UpdateForm(obj=_FormData.of(posted))
    if not form.validate_on_submit():
        return _form_page(letter, form, posted, 400 if form.is_submitted() else 200)
    try:
        service.edit_update(
            db.session, posted, _text(form), actor=current_coordinator(), now=utcnow()
        )
    except service.InvalidUpdate as error:
        db.session.rollback()
        getattr(form, error.field).errors.append(error.message)
        return _form_page(letter, form, posted, 400)
    except service.AlreadySending:
        db.session.rollback()
        flash(_already_sent(), "error")
        return _form_page(letter, form, posted, 409)
    db.session.commit()
    flash(gettext("Update saved."), "ok")
    return redirect(url_for("manage.preview_update", slug=letter.slug, update_id=update_id), 303)


def _already_sent() -> str:
    return gettext(
        "This update is being emailed (or was), so its text stays as the signatories got it."
    )


@dataclass(frozen=True)
class _FormData:
    """An update's text as the form's ``obj``."""

    title: str
    body: str

    @classmethod
    def of(cls, posted: LetterUpdate) -> _FormData:
        return cls(title=posted.title, body=posted.body_markdown)


@dataclass(frozen=True)
class _Previewed:
    """What ``render_email`` reads of an outbox row, for an email that is never queued."""

    context: dict[str, Any]
    created_at: datetime
    id: int = 0
    template: str = service.TEMPLATE
    to_addr: str = field(default="signatory@example.org")


def _preview(posted: LetterUpdate) -> EmailMessage:
    # Built by the worker's own renderer, so the preview is the email as sent, headers and all.
    previewed = _Previewed(
        context={
            "update_id": posted.id,
            "preview": True,
            "recipient_name": gettext("(their name)"),
        },
        created_at=utcnow(),
    )
    return render_email(db.session, previewed, now=utcnow())


@routes.get("/letters/<slug>/updates/<int:update_id>")
@letter_route("editor")
def preview_update(letter: Letter, membership: Membership, update_id: int) -> str:
    """The update email as a signatory gets it, with the test send and the send buttons."""
    posted = _update_or_404(letter, update_id)
    email = _preview(posted)
    text_part = email.get_body(preferencelist=("plain",))
    return render_template(
        "updates/manage/preview.html",
        letter=letter,
        posted=posted,
        email=email,
        text=text_part.get_content() if text_part is not None else "",
        headers=[
            (name, str(email[name]))
            for name in ("From", "Subject", "List-Unsubscribe", "List-Unsubscribe-Post")
        ],
        opted_in=service.opted_in_count(db.session, letter),
        counts=service.send_counts(db.session, [posted.id]).get(posted.id, service.SendCounts()),
        coordinator_email=current_coordinator().email,
    )


@routes.post("/letters/<slug>/updates/<int:update_id>/test")
@letter_route("editor")
def test_update(letter: Letter, membership: Membership, update_id: int) -> Response:
    """Email the update to the signed-in coordinator's own address only."""
    posted = _update_or_404(letter, update_id)
    coordinator = current_coordinator()
    service.send_test(db.session, posted, actor=coordinator, now=utcnow())
    db.session.commit()
    flash(
        gettext("A test is on its way to %(email)s, and to nobody else.", email=coordinator.email),
        "ok",
    )
    return redirect(url_for("manage.preview_update", slug=letter.slug, update_id=update_id), 303)


@routes.post("/letters/<slug>/updates/<int:update_id>/send")
@letter_route("editor")
def send_update(letter: Letter, membership: Membership, update_id: int) -> Any:
    """Email the update to every signatory who asked for updates, once per update."""
    posted = _update_or_404(letter, update_id)
    now = utcnow()
    try:
        recipients = service.request_sending(
            db.session, posted, actor=current_coordinator(), now=now
        )
        # The first batch now, so a small letter's update is queued by the time the
        # page is back; the worker's chore (``sending.UpdateSending``) queues the rest.
        sending.queue_next_batch(db.session, posted.id, now=now)
    except service.AlreadySending:
        db.session.rollback()
        flash(_already_sent(), "error")
        return redirect(
            url_for("manage.preview_update", slug=letter.slug, update_id=update_id), 303
        )
    db.session.commit()
    flash(
        ngettext(
            "Sending to %(num)s signatory. The counts below show how it goes.",
            "Sending to %(num)s signatories. The counts below show how it goes.",
            recipients,
        ),
        "ok",
    )
    return redirect(url_for("manage.preview_update", slug=letter.slug, update_id=update_id), 303)
