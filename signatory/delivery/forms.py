"""The form an owner fills in to record the delivery."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateTimeLocalField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from signatory.delivery.service import DELIVERED_TO_MAX, METHOD_MAX, NOTE_MAX

# Offered as suggestions (a <datalist>); any wording is accepted.
METHOD_SUGGESTIONS = (
    _l("by email to the secretariat"),
    _l("in person"),
    _l("by post"),
    _l("through the official submission portal"),
)


class UTCDateTimeLocalField(DateTimeLocalField):
    """A ``datetime-local`` input read as UTC: the page says so beside the field."""

    data: datetime | None

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
            Length(max=DELIVERED_TO_MAX),
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
            Length(max=METHOD_MAX),
        ],
    )
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=NOTE_MAX)])
    confirm = BooleanField(
        _l("I understand that this closes signing for good and freezes the list as it is now."),
        validators=[DataRequired(_l("Tick the box to confirm."))],
    )
