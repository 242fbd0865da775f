"""The signer's forms: ask for the manage link, edit or ask a correction, withdraw."""

from __future__ import annotations

from typing import Any

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length, ValidationError

from signatory.core.text import stripped
from signatory.models.signature import NAME_MAX

EMAIL_MAX = 320


class FindSignatureForm(FlaskForm):
    """ "Send me my link": the address signed with, and which letter."""

    email = StringField(
        _l("The email address you signed with"),
        filters=[stripped],
        validators=[
            DataRequired(_l("Enter the email address you signed with.")),
            Length(max=EMAIL_MAX, message=_l("An email address is at most 320 characters.")),
        ],
    )
    # The choices are the public letters, set by the view.
    letter = SelectField(
        _l("The letter you signed"),
        validators=[DataRequired(_l("Choose the letter you signed."))],
        validate_choice=False,
    )

    def validate_email(self, field: Any) -> None:
        try:
            result = validate_email(field.data, check_deliverability=False)
        except EmailNotValidError as exc:
            raise ValidationError(
                gettext("Enter a valid email address: %(reason)s", reason=exc)
            ) from None
        field.data = result.normalized

    def validate_letter(self, field: Any) -> None:
        if field.data not in {value for value, _label in self.letter.choices or () if value}:
            raise ValidationError(gettext("Choose the letter you signed from the list."))


def _entry_field(label: Any) -> StringField:
    return StringField(
        label,
        filters=[stripped],
        validators=[
            Length(
                max=NAME_MAX,
                message=_l("Keep each part of your entry under %(max)s characters.", max=NAME_MAX),
            )
        ],
    )


class CorrectionForm(FlaskForm):
    """The entry as the signer wants it to read; the service checks what each kind needs."""

    organization = _entry_field(_l("Organization"))
    name = _entry_field(_l("Name"))
    # The choices are the countries in the page's language, set by the view; the service
    # checks the code (``signing.check_country``) and answers beside the field.
    country = SelectField(_l("Country"), validate_choice=False)


class EntryForm(FlaskForm):
    """The title, and an organization's website: applied at once. The service runs the
    sign form's checks (``signing``) and answers beside the field; no length cap here, so
    a paste too long is told the sign form's own limit."""

    title = StringField(_l("Title or role"), filters=[stripped])
    website = StringField(_l("Website"), filters=[stripped])


class WithdrawForm(FlaskForm):
    """Only the CSRF token: the button is the whole form."""
