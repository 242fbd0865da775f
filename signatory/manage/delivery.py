"""Delivery: the owner records the hand-over, which closes signing and freezes the list."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import BooleanField, DateTimeLocalField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from signatory.core.extensions import db
from signatory.core.time import utcnow
from signatory.manage import bp
from signatory.manage import delivery_service as service
from signatory.manage.access import current_coordinator, letter_route
from signatory.models import Coordinator, Letter, Membership

# Offered as suggestions (a <datalist>); any wording is accepted.
METHOD_SUGGESTIONS = (
    _l("by email to the secretariat"),
    _l("in person"),
    _l("by post"),
    _l("through the official submission portal"),
)


class UTCDateTimeLocalField(DateTimeLocalField):
    """A ``datetime-local`` input read as UTC: the page says so beside the field."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(gettext("Enter a date and time, e.g. 2025-06-30 14:00.")) from None
        if isinstance(self.data, datetime):
            self.data = self.data.replace(tzinfo=UTC)


class DeliveryForm(FlaskForm):
    delivered_to = StringField(
        _l("Delivered to"),
        validators=[
            InputRequired(_l("Say to whom the letter was delivered.")),
            Length(max=service.DELIVERED_TO_MAX),
        ],
    )
    delivered_at = UTCDateTimeLocalField(
        _l("When (UTC)"),
        format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
        validators=[InputRequired(_l("Give the date and time of the delivery."))],
    )
    method = StringField(
        _l("How"),
        validators=[
            InputRequired(_l("Say how it was delivered, e.g. “in person”.")),
            Length(max=service.METHOD_MAX),
        ],
    )
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=service.NOTE_MAX)])
    confirm = BooleanField(
        _l("I understand that this closes signing for good and freezes the list as it is now."),
        validators=[DataRequired(_l("Tick the box to confirm."))],
    )


def _render_record(letter: Letter, membership: Membership, status: int = 200) -> tuple[str, int]:
    delivery = service.delivery_of(db.session, letter)
    assert delivery is not None
    creator = (
        db.session.get(Coordinator, delivery.created_by_id) if delivery.created_by_id else None
    )
    return (
        render_template(
            "manage/delivery/record.html",
            letter=letter,
            membership=membership,
            delivery=delivery,
            delivered_by=creator.name if creator else None,
            filename=service.delivered_filename(letter, delivery),
        ),
        status,
    )


@bp.route("/letters/<slug>/delivery", methods=["GET", "POST"])
@letter_route("owner")
def delivery(letter: Letter, membership: Membership) -> Response | tuple[str, int]:
    """Mark the letter delivered (once); afterwards, show what was handed over and its hash."""
    if service.delivery_of(db.session, letter) is not None:
        if request.method == "POST":
            flash(
                gettext("This letter was already delivered; its delivered list cannot change."),
                "error",
            )
            return _render_record(letter, membership, 409)
        return _render_record(letter, membership)

    now = utcnow()
    deliverable = letter.status in service.DELIVERABLE
    form = DeliveryForm(
        data={
            "delivered_to": letter.recipient,
            "delivered_at": now.replace(second=0, microsecond=0),
        }
    )
    page = {
        "letter": letter,
        "membership": membership,
        "form": form,
        "deliverable": deliverable,
        "suggestions": METHOD_SUGGESTIONS,
    }
    if request.method == "GET":
        return render_template("manage/delivery/form.html", **page), 200
    if not deliverable:
        return render_template("manage/delivery/form.html", **page), 409
    if not form.validate_on_submit():
        return render_template("manage/delivery/form.html", **page), 400

    data = service.DeliveryData(
        delivered_to=form.delivered_to.data or "",
        delivered_at=form.delivered_at.data,
        method=form.method.data or "",
        note=form.note.data or "",
    )
    try:
        record = service.deliver(db.session, letter, data, actor=current_coordinator(), now=now)
    except service.InvalidDelivery as error:
        db.session.rollback()
        getattr(form, error.field).errors.append(error.message)
        return render_template("manage/delivery/form.html", **page), 400
    except service.AlreadyDelivered:
        db.session.rollback()
        flash(
            gettext("Another owner delivered this letter a moment ago; here is their record."),
            "error",
        )
        return redirect(url_for("manage.delivery", slug=letter.slug), code=303)
    db.session.commit()
    flash(
        gettext(
            "Delivered. Signing is closed and the list is frozen: %(organizations)s "
            "organizations and %(individuals)s individuals.",
            organizations=record.organizations,
            individuals=record.individuals,
        ),
        "ok",
    )
    return redirect(url_for("manage.delivery", slug=letter.slug), code=303)
